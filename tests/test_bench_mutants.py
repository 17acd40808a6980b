"""bench/mutants.py names real functions and real test files, so a rename fails here and not an hour into a run."""
import ast
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_bench():
    """Import bench/mutants.py as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_mutants", ROOT / "bench" / "mutants.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_every_mutation_target_names_functions_and_tests_that_exist():
    """Each target's module defines its functions at top level, and each of its test files exists."""
    bench = load_bench()
    problems = []
    for target in bench.TARGETS:
        tree = ast.parse((ROOT / target.module).read_text(encoding="utf-8"))
        defined = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
        problems += [f"{target.name}: no function {name} in {target.module}" for name in target.functions if name not in defined]
        problems += [f"{target.name}: no test file {path}" for path in target.tests if not (ROOT / path).exists()]
    assert problems == []
    assert len({t.name for t in bench.TARGETS}) == len(bench.TARGETS)


def test_signature_operators_are_not_counted_as_mutants():
    """`int | None` in a signature or annotation and a bare `*` are found as not-code spans."""
    bench = load_bench()
    source = "def f(a: int | None, *, b: str = 'x') -> dict | None:\n    c: int | None = 1\n    return a or c\n"
    spans = bench.signatures(source)
    assert any(start <= (1, 14) < end for start, end in spans)  # the | in a's annotation
    assert any(start <= (2, 11) < end for start, end in spans)  # the | in c's annotation
    assert not any(start <= (3, 13) < end for start, end in spans)  # `a or c` is code
