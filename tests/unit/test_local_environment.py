"""The runtime's environment variables and the processes it starts take turns (local/environment.py)."""

from __future__ import annotations

import ast
import os
import threading
from pathlib import Path

import pytest

from local import environment
from local.environment import set_variables, starting_process

LOCAL = Path(environment.__file__).parent
# The worker sets its function's variables in its own process, before it has a second thread.
MAY_SET_VARIABLES = {"environment.py", "function_worker.py"}
ENVIRONMENT_WRITES = {"update", "setdefault", "pop", "popitem", "clear"}


def test_variables_are_set(monkeypatch):
    monkeypatch.delenv("LOCAL_TEST_VARIABLE", raising=False)

    set_variables({"LOCAL_TEST_VARIABLE": "one"})

    assert os.environ["LOCAL_TEST_VARIABLE"] == "one"
    monkeypatch.delenv("LOCAL_TEST_VARIABLE")


def test_keep_existing_sets_only_the_missing_ones(monkeypatch):
    monkeypatch.setenv("LOCAL_TEST_SET", "mine")
    monkeypatch.delenv("LOCAL_TEST_UNSET", raising=False)

    set_variables({"LOCAL_TEST_SET": "default", "LOCAL_TEST_UNSET": "default"}, keep_existing=True)

    assert (os.environ["LOCAL_TEST_SET"], os.environ["LOCAL_TEST_UNSET"]) == ("mine", "default")
    monkeypatch.delenv("LOCAL_TEST_UNSET")


def test_a_variable_is_set_only_once_the_process_being_started_has_started(monkeypatch):
    monkeypatch.delenv("LOCAL_TEST_VARIABLE", raising=False)
    set_done = threading.Event()
    setter = threading.Thread(target=lambda: (set_variables({"LOCAL_TEST_VARIABLE": "x"}), set_done.set()))

    with starting_process():
        setter.start()
        waited_while_starting = not set_done.wait(0.2)
    setter.join(5)

    assert waited_while_starting
    assert set_done.is_set()
    monkeypatch.delenv("LOCAL_TEST_VARIABLE")


def _modules() -> list[tuple[str, ast.Module]]:
    return [(path.name, ast.parse(path.read_text())) for path in sorted(LOCAL.glob("*.py"))]


def _is_environ(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def _sets_a_variable(node: ast.AST) -> bool:
    if isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        return any(isinstance(target, ast.Subscript) and _is_environ(target.value) for target in targets)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        owner = node.func.value
        if _is_environ(owner) and node.func.attr in ENVIRONMENT_WRITES:
            return True
        return isinstance(owner, ast.Name) and owner.id == "os" and node.func.attr in {"putenv", "unsetenv"}
    return False


def test_only_the_environment_module_sets_the_runtimes_variables():
    offenders = [
        f"{name}:{node.lineno}"
        for name, module in _modules()
        if name not in MAY_SET_VARIABLES
        for node in ast.walk(module)
        if _sets_a_variable(node)
    ]

    assert offenders == [], "set variables through local.environment.set_variables"


def _starts_a_process(node: ast.AST) -> bool:
    """`subprocess.Popen(...)` / `.run(...)`, or `process.start()` (a multiprocessing process)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    owner, name = node.func.value, node.func.attr
    if isinstance(owner, ast.Name) and owner.id == "subprocess":
        return name in {"Popen", "run", "call", "check_call", "check_output"}
    return isinstance(owner, ast.Name) and owner.id == "process" and name == "start"


def _inside_starting_process(module: ast.Module) -> set[int]:
    """Line numbers of every call made inside a `with starting_process():` block."""
    lines: set[int] = set()
    for node in ast.walk(module):
        if isinstance(node, ast.With) and any(
            isinstance(item.context_expr, ast.Call)
            and isinstance(item.context_expr.func, ast.Name)
            and item.context_expr.func.id == "starting_process"
            for item in node.items
        ):
            lines |= {
                inner.lineno
                for statement in node.body
                for inner in ast.walk(statement)
                if hasattr(inner, "lineno")
            }
    return lines


@pytest.mark.parametrize("name", ["dynamodb_twin.py", "function_pool.py"])
def test_the_runtimes_process_starts_are_found(name):
    # The check below reads these two modules' starts; it would pass vacuously if it found none.
    module = dict(_modules())[name]

    assert any(_starts_a_process(node) for node in ast.walk(module))


def test_every_process_the_runtime_starts_starts_inside_starting_process():
    offenders = []
    for name, module in _modules():
        guarded = _inside_starting_process(module)
        offenders += [
            f"{name}:{node.lineno}"
            for node in ast.walk(module)
            if _starts_a_process(node) and node.lineno not in guarded
        ]

    assert offenders == [], "start processes inside local.environment.starting_process()"
