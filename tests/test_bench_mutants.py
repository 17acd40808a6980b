"""bench/mutants.py names real functions and real test files, so a rename fails here and not an hour into a run."""
import ast
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_bench():
    """Import bench/mutants.py as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_mutants", ROOT / "bench" / "mutants.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_every_mutation_target_names_functions_and_tests_that_exist():
    """Each target's module defines its functions at top level (or as `Class.method`), and each of its test files exists."""
    bench = load_bench()
    problems = []
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    for target in bench.TARGETS:
        tree = ast.parse((ROOT / target.module).read_text(encoding="utf-8"))
        defined = {node.name for node in tree.body if isinstance(node, functions)}
        defined |= {f"{cls.name}.{node.name}" for cls in tree.body if isinstance(cls, ast.ClassDef)
                    for node in cls.body if isinstance(node, functions)}
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


def test_a_stopped_run_re_tries_only_its_survivors_and_counts_what_it_never_ran(tmp_path, monkeypatch):
    """--survivors on a run stopped part-way forgets only the survivors' results (so only they run again) and marks
    the mutants never reached as not run; --report counts killed, survived and not run."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import MutationSpec, TestOutcome, WorkerOutcome, WorkItem, WorkResult

    bench = load_bench()
    target = bench.Target("demo", "demo.py", ("f",), ())
    (tmp_path / "demo.py").write_text("def f(a):\n    return a == 1\n", encoding="utf-8")
    monkeypatch.setattr(bench, "ROOT", tmp_path / "tree")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "demo.py").write_text("def f(a):\n    return a == 1\n", encoding="utf-8")
    session = tmp_path / "mutants-demo.sqlite"
    with use_db(str(session), WorkDB.Mode.create) as db:
        db.add_work_items([WorkItem(job_id=str(n), mutations=[MutationSpec("demo.py", "core/AddNot", n, (2, 11), (2, 17))])
                           for n in range(3)])
        db.set_result("0", WorkResult(worker_outcome=WorkerOutcome.NORMAL, test_outcome=TestOutcome.KILLED))
        db.set_result("1", WorkResult(worker_outcome=WorkerOutcome.NORMAL, test_outcome=TestOutcome.SURVIVED, diff="-a\n+b"))
    lines = bench.function_lines("def f(a):\n    return a == 1\n", ("f",))
    before = bench.report(target, session, lines, 0.0)
    assert (before["counts"]["killed"], before["counts"]["survived"], before["not_run"]) == (1, 1, 1)
    bench.retry_survivors(target, tmp_path)
    with use_db(str(session), WorkDB.Mode.open) as db:
        assert [item.job_id for item in db.pending_work_items] == ["1"]
    queued = bench.report(target, session, lines, 0.0)  # the survivor waits for `exec` again; 2 never ran
    assert (queued["counts"]["killed"], queued["counts"]["survived"], queued["not_run"]) == (1, 0, 2)



def test_a_mutant_whose_tests_ran_out_of_time_is_counted_as_a_timeout_not_a_kill_and_tried_again(tmp_path, monkeypatch):
    """cosmic-ray records a timeout as killed with the output "timeout" (a loaded machine, not a test that noticed):
    --report counts it apart and --survivors forgets it with the survivors."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import MutationSpec, TestOutcome, WorkerOutcome, WorkItem, WorkResult

    bench = load_bench()
    target = bench.Target("demo", "demo.py", ("f",), ())
    for folder in (tmp_path, tmp_path / "tree"):
        folder.mkdir(exist_ok=True)
        (folder / "demo.py").write_text("def f(a):\n    return a == 1\n", encoding="utf-8")
    monkeypatch.setattr(bench, "ROOT", tmp_path / "tree")
    monkeypatch.setattr(bench, "precompile", lambda copy: None)
    session = tmp_path / "mutants-demo.sqlite"
    with use_db(str(session), WorkDB.Mode.create) as db:
        db.add_work_items([WorkItem(job_id=str(n), mutations=[MutationSpec("demo.py", "core/AddNot", n, (2, 11), (2, 17))])
                           for n in range(2)])
        db.set_result("0", WorkResult(worker_outcome=WorkerOutcome.NORMAL, test_outcome=TestOutcome.KILLED, output="1 failed"))
        db.set_result("1", WorkResult(worker_outcome=WorkerOutcome.NORMAL, test_outcome=TestOutcome.KILLED, output="timeout"))
    lines = bench.function_lines("def f(a):\n    return a == 1\n", ("f",))
    counted = bench.report(target, session, lines, 0.0)
    assert (counted["counts"]["killed"], counted["counts"]["timeout"]) == (1, 1) and counted["timeouts"] == ["demo.py:2 (AddNot)"]
    bench.retry_survivors(target, tmp_path)
    with use_db(str(session), WorkDB.Mode.open) as db:
        assert [item.job_id for item in db.pending_work_items] == ["1"]


def load_plugin(monkeypatch):
    """Import bench/mutant_plugin.py; werkzeug's hashing is put back after the test (the plugin patches it)."""
    import werkzeug.security

    monkeypatch.setattr(werkzeug.security, "generate_password_hash", werkzeug.security.generate_password_hash)
    spec = importlib.util.spec_from_file_location("bench_mutant_plugin", ROOT / "bench" / "mutant_plugin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_mutant_run_tries_the_tests_that_killed_before_first_and_still_runs_every_test(tmp_path, monkeypatch):
    """The plugin only reorders: earlier killers first (most kills at the front), the rest in their order, none left out."""
    plugin = load_plugin(monkeypatch)

    class Item:
        def __init__(self, nodeid):
            self.nodeid = nodeid

    killers = tmp_path / "killers.txt"
    monkeypatch.setenv("CHORUS_MUTANT_KILLERS", str(killers))
    items = [Item(n) for n in ("a", "b", "c", "d")]
    plugin.pytest_collection_modifyitems(None, None, items)
    assert [i.nodeid for i in items] == ["a", "b", "c", "d"]  # nothing noted yet
    for nodeid, failed in (("c", True), ("d", True), ("d", True), ("b", False)):
        plugin.pytest_runtest_logreport(type("Report", (), {"nodeid": nodeid, "failed": failed})())
    plugin.pytest_collection_modifyitems(None, None, items)
    assert [i.nodeid for i in items] == ["d", "c", "a", "b"]


def test_the_cheaper_scrypt_of_mutant_runs_still_checks_passwords(monkeypatch):
    """Accounts made during a mutant run still get scrypt hashes that accept the password and refuse another."""
    from werkzeug.security import check_password_hash

    plugin = load_plugin(monkeypatch)
    stored = plugin.cheap_scrypt("correct horse battery", method="scrypt")
    assert stored.startswith("scrypt:1024:8:1$")
    assert check_password_hash(stored, "correct horse battery")
    assert not check_password_hash(stored, "correct horse batterx")


def test_a_stopped_run_resumes_with_the_mutant_it_left_applied_put_back_and_refuses_a_changed_module(tmp_path, monkeypatch):
    """--resume (and --survivors) on a run stopped mid-mutant: the kept copy still holds that mutant, which would
    fail every later mutant's tests; it is put back from the working tree. A module changed otherwise is refused."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import MutationSpec, WorkItem

    bench = load_bench()
    target = bench.Target("demo", "demo.py", ("f",), ("tests/test_demo.py",))
    tree = tmp_path / "tree"
    (tree / "tests").mkdir(parents=True)
    original = "def f(a):\n    return a == 1\n\n\ndef g(a):\n    return a\n"
    (tree / "demo.py").write_text(original, encoding="utf-8")
    (tree / "tests" / "test_demo.py").write_text("def test_new():\n    pass\n", encoding="utf-8")
    monkeypatch.setattr(bench, "ROOT", tree)
    monkeypatch.setattr(bench, "precompile", lambda copy: None)
    copy = tmp_path / "kept"
    copy.mkdir()
    (copy / "demo.py").write_text(original.replace("a == 1", "a != 1"), encoding="utf-8")  # the mutant left applied
    (copy / "mutants-demo.toml").write_text("[cosmic-ray]\ntest-command = 'old python -m pytest'\n", encoding="utf-8")
    with use_db(str(copy / "mutants-demo.sqlite"), WorkDB.Mode.create) as db:
        db.add_work_items([WorkItem(job_id="0", mutations=[MutationSpec("demo.py", "core/ReplaceComparisonOperator_Eq_NotEq",
                                                                         0, (2, 11), (2, 17))])])
    bench.refresh_copy(target, copy)
    assert (copy / "demo.py").read_text(encoding="utf-8") == original
    assert (copy / "tests" / "test_demo.py").exists()  # a test file added since the run is copied in
    assert "tests/test_demo.py" in (copy / "mutants-demo.toml").read_text(encoding="utf-8")
    (copy / "demo.py").write_text(original.replace("return a\n", "return not a\n"), encoding="utf-8")  # no mutant's line
    with pytest.raises(SystemExit, match="changed since the kept run"):
        bench.refresh_copy(target, copy)
