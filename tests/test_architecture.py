"""The package boundaries of docs/architecture.md hold: imports run one way and never in a circle.

Rooms and allowed arrows (the composition roots listening/app.py and listening/cli.py may import
anything, since they put the app together):

- listening (the core and the residents' side) imports nothing of facilitation or analysis;
- facilitation (the staff side) imports listening, and the analysis engine (never its planner UI);
- analysis/review (the planners' UI) imports listening and the engine, never facilitation;
- the analysis engine imports nothing of the app, and neither Flask nor SQLite.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("listening", "facilitation", "analysis")
COMPOSITION_ROOTS = {"listening/app.py", "listening/cli.py"}
WEB_STACK = {"flask", "flask_babel", "flask_wtf", "werkzeug", "wtforms", "sqlite_utils", "sqlite3", "itsdangerous"}
LIMIT = 100


def module_name(rel: str) -> str:
    """Return the dotted module name of a file path relative to the repository."""
    parts = rel[:-3].split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_planner_ui(module: str) -> bool:
    """Tell whether a module belongs to the planners' web UI (analysis.review), not the pure engine."""
    return module == "analysis.review" or module.startswith("analysis.review.")


def imported_modules(tree: ast.AST, me: str, is_package: bool) -> set[str]:
    """Return every module name a file imports (relative imports resolved), at any depth of the file."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = me.split(".") if is_package else me.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found |= {f"{target}.{alias.name}" for alias in node.names}
    return found


def source_files() -> dict[str, Path]:
    """Return the app's Python files by module name."""
    return {module_name(str(p.relative_to(ROOT))): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def read_imports() -> dict[str, set[str]]:
    """Return, for each app module, the app modules and outside packages it imports."""
    return {name: imported_modules(ast.parse(path.read_text(encoding="utf-8")), name, path.name == "__init__.py")
            for name, path in source_files().items()}


def crossing(me: str, target: str) -> str | None:
    """Return why `me` may not import `target`, or None when the arrow is allowed."""
    room, other = me.split(".")[0], target.split(".")[0]
    if room == "listening" and other in ("facilitation", "analysis"):
        return "the core imports a staff package"
    if room == "facilitation" and is_planner_ui(target):
        return "the staff side imports the planners' UI"
    if room == "analysis" and other == "facilitation":
        return "analysis imports the staff side"
    if room == "analysis" and not is_planner_ui(me) and other == "listening":
        return "the engine imports the app"
    if room == "analysis" and not is_planner_ui(me) and other in WEB_STACK:
        return "the engine imports the web stack"
    return None


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        """Number `v`, walk its arrows and close a group when `v` is its root."""
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_imports_run_only_along_the_allowed_arrows():
    """No module imports across the rooms' allowed directions (composition roots excepted)."""
    problems = []
    for me, targets in read_imports().items():
        rel = me.replace(".", "/") + ".py"
        if rel in COMPOSITION_ROOTS:
            continue
        problems += [f"{me} imports {t}: {why}" for t in sorted(targets) if (why := crossing(me, t))]
    assert problems == []


def test_no_import_cycle_between_modules():
    """No two app modules import each other, directly or through others (a package importing its own modules aside)."""
    modules = source_files()
    edges = {me: {t for t in targets if t in modules and t != me and not me.startswith(t + ".")}
             for me, targets in read_imports().items()}
    assert cycles(edges) == []


def test_the_guard_sees_a_forbidden_arrow_and_a_circle():
    """The checks flag an upward import, the staff side reaching into the planners' UI, and a two-module circle."""
    assert crossing("listening.views", "facilitation.live") is not None
    assert crossing("facilitation.live", "analysis.review.queries") is not None
    assert crossing("analysis.themes", "flask") is not None
    assert crossing("facilitation.live", "analysis.text") is None
    assert crossing("analysis.review.views", "listening.db") is None
    assert cycles({"a.x": {"a.y"}, "a.y": {"a.x"}, "a.z": set()}) == [["a.x", "a.y"]]


def test_no_function_is_longer_than_a_hundred_lines():
    """Long functions are split into named steps: none over 100 lines outside the migrations."""
    long = []
    for name, path in source_files().items():
        if path.name == "migrations.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > LIMIT:
                long.append(f"{name}.{node.name}")
    assert long == []
