"""The analysis package stays pure: only its web module may import Flask or SQLite helpers."""
from __future__ import annotations

import ast
from pathlib import Path

ANALYSIS = Path(__file__).resolve().parents[2] / "analysis"


def test_reports_module_imports_no_flask_or_sqlite():
    """reports.py renders from plain data: it imports neither flask nor sqlite_utils nor sqlite3."""
    tree = ast.parse((ANALYSIS / "reports.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"flask", "flask_babel", "sqlite_utils", "sqlite3", "listening"}
