"""Build step: ship the translation catalogs inside the package, compiled.

The catalogs' sources stay in `translations/` where translators edit them. A wheel (or a plain
`pip install .`) copies each `messages.po` into `listening/translations/` and compiles its
`messages.mo` beside it, so an installed Chorus offers every language without `pybabel`.
Editable installs read `translations/` directly and compile it at start-up instead.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SOURCE = Path(__file__).resolve().parent / "translations"


class BuildPyWithCatalogs(build_py):
    """Copy and compile the catalogs into the built package."""

    def run(self) -> None:
        """Build the Python files as usual, then add the catalogs (not for editable installs)."""
        super().run()
        if getattr(self, "editable_mode", False):
            return
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        target = Path(self.build_lib) / "listening" / "translations"
        for po_path in sorted(SOURCE.glob("*/LC_MESSAGES/messages.po")):
            out = target / po_path.relative_to(SOURCE)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(po_path, out)
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            with out.with_suffix(".mo").open("wb") as mo_file:
                write_mo(mo_file, catalog)  # fuzzy entries are left out, as pybabel does


setup(cmdclass={"build_py": BuildPyWithCatalogs})
