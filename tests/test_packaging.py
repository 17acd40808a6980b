"""An installed Chorus (a built wheel, not the checkout) speaks every language it ships."""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Runs inside the fresh environment, from a folder outside the checkout: makes the demo session and
# prints the <html lang dir> of its join page for each Accept-Language.
PROBE = r"""
import re, sys, tempfile
from listening.app import create_app
from listening.db import connect
from listening.demo import ensure_demo
from listening.migrations import migrate
import listening
print("package", listening.__file__)
app = create_app({"TESTING": True, "DATABASE": tempfile.mkdtemp() + "/t.db", "SECRET_KEY": "x" * 40})
db = connect(app.config["DATABASE"])
migrate(db)
with app.app_context():
    demo = ensure_demo(db, password="a long enough password")
client = app.test_client()
for language in ("es", "ar"):
    html = client.get(f"/j/{demo.code}", headers={"Accept-Language": language}).get_data(as_text=True)
    tag = re.search(r"<html[^>]*>", html).group(0)
    title = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1).strip()
    print(language, tag, title)
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Build Chorus's wheel offline and install it, without its checkout, in a new environment."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(work / "dist"), str(ROOT)], check=True, cwd=work)
    wheel = next((work / "dist").glob("chorus-*.whl"))
    env_dir = work / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    target = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 check=True, capture_output=True, text=True).stdout.strip())
    # The dependencies come from this test run's environment, added as a plain path: its .pth
    # files (among them the editable install of the checkout) are not processed there.
    (target / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, cwd=work)
    return python, work


def test_a_built_wheel_serves_spanish_and_arabic_join_pages(installed):
    """A Spanish phone gets lang="es" and Spanish text, an Arabic one lang="ar" dir="rtl", from the wheel."""
    python, work = installed
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CHORUS_", "PYTHON"))}
    result = subprocess.run([str(python), "-c", PROBE], check=True, capture_output=True, text=True,
                            cwd=work, env=env)
    lines = dict(line.split(" ", 1) for line in result.stdout.strip().splitlines())
    assert str(ROOT) not in lines["package"], "the probe must import the installed wheel, not the checkout"
    assert 'lang="es"' in lines["es"] and 'dir="ltr"' in lines["es"]
    assert 'lang="ar"' in lines["ar"] and 'dir="rtl"' in lines["ar"]
    assert "Healthy babies" not in lines["es"].split(">", 1)[1], lines["es"]
    assert "Healthy babies" not in lines["ar"].split(">", 1)[1], lines["ar"]


def test_the_wheel_carries_compiled_catalogs_for_every_language(installed):
    """Every catalog in translations/ is inside the wheel as a compiled .mo."""
    _python, work = installed
    import zipfile

    wheel = next((work / "dist").glob("chorus-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    languages = sorted(p.parent.parent.name for p in (ROOT / "translations").glob("*/LC_MESSAGES/messages.po"))
    assert languages, "the checkout has catalogs"
    for language in languages:
        assert f"listening/translations/{language}/LC_MESSAGES/messages.mo" in names, language
