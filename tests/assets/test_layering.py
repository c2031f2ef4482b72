"""The import graph the layout promises: the core imports no app above it, and each app only what sits below it."""

import ast
from pathlib import Path

from django.conf import settings

ALLOWED = {
    "assets": set(),
    "generation": {"assets"},
    "review": {"assets", "generation"},
    "delivery": {"assets", "generation", "review"},
}


def _imported_apps(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & set(ALLOWED)


def test_each_app_imports_only_the_apps_below_it():
    found = {}
    for app, allowed in ALLOWED.items():
        for path in sorted((Path(settings.BASE_DIR) / app).rglob("*.py")):
            extra = _imported_apps(path) - allowed - {app}
            if extra:
                found[str(path.relative_to(settings.BASE_DIR))] = sorted(extra)
    assert found == {}


def test_the_check_sees_a_forbidden_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from review.selectors import approval_attestation\n")
    assert _imported_apps(module) == {"review"}
