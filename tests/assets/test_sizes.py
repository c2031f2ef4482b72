"""The sizes the code keeps so a newcomer can read it: no module over 400 lines and no function over 60 in the apps
and config (migrations are generated, and excluded)."""

import ast
from pathlib import Path

from django.conf import settings

PACKAGES = ("assets", "generation", "review", "delivery", "config")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules():
    for package in PACKAGES:
        for path in sorted((Path(settings.BASE_DIR) / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _too_long(path: Path) -> tuple[list[str], list[str]]:
    source = path.read_text()
    name = str(path.relative_to(settings.BASE_DIR))
    modules = [f"{name}: {source.count(chr(10))} lines"] if source.count("\n") > MAX_MODULE_LINES else []
    functions = [
        f"{name}:{node.lineno} {node.name}: {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(ast.parse(source, filename=name))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    return modules, functions


def test_no_module_over_400_lines_and_no_function_over_60():
    modules, functions = [], []
    for path in _modules():
        long_modules, long_functions = _too_long(path)
        modules += long_modules
        functions += long_functions
    assert (modules, functions) == ([], [])


def test_the_measure_sees_a_long_function_and_a_long_module(tmp_path, settings):
    settings.BASE_DIR = tmp_path
    body = "\n".join(f"    x{i} = {i}" for i in range(61))
    path = tmp_path / "long.py"
    path.write_text(f"def long():\n{body}\n" + "\n" * 340)
    modules, functions = _too_long(path)
    assert modules == ["long.py: 402 lines"] and functions == ["long.py:1 long: 62 lines"]
