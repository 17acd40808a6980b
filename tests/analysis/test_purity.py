"""The analysis engine stays a pure library: no Flask, no SQLite."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ANALYSIS = Path(__file__).resolve().parents[2] / "analysis"
RESERVED = set()  # the planners' web layer lives in analysis/review/, outside this glob
FORBIDDEN = {"flask", "sqlite_utils", "sqlite3", "flask_babel", "listening", "facilitation"}


def test_analysis_modules_never_import_flask_or_sqlite() -> None:
    """No analysis module outside analysis/review/ imports flask, sqlite_utils or the app's packages."""
    offenders = []
    for path in sorted(ANALYSIS.glob("*.py")):
        if path.name in RESERVED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_importing_the_engine_loads_no_web_stack() -> None:
    """Importing the engine and its CLI in a fresh interpreter loads neither Flask nor SQLite."""
    code = (
        "import sys, analysis, analysis.cli, analysis.equity, analysis.themes, analysis.text, analysis.opinions, analysis.opinions_cli\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'flask', 'sqlite_utils', 'sqlite3'})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ANALYSIS.parent)
    assert result.stdout.strip() == ""
