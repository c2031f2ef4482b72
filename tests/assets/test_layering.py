"""The layering the layout promises, in the code and when it runs: a straight stack, assets ← generation ← review ←
delivery, in which each app imports and calls only what sits below it.

The one way up is an extension point of the core (assets.hooks, assets.operations): an app above registers into it
from its AppConfig.ready(), and the core calls what was registered. The tests below read the import picture from the
source (imports, and dotted paths or admin URL names written as strings: a task, a schedule, a link), and the run-time
picture from the registries once the apps are ready.
"""

import ast
import importlib
import importlib.util
import re
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from assets import hooks

ALLOWED = {
    "assets": set(),
    "generation": {"assets"},
    "review": {"assets", "generation"},
    "delivery": {"assets", "generation", "review"},
}
APPS = tuple(ALLOWED)  # bottom to top
# The core's extension points, each documented in its module with what registers into it: nothing else may hold
# entries. assets.operations' registry is walked too: the worker declares its operations there.
EXTENSION_POINTS = {
    "assets.hooks.upload_checks",
    "assets.hooks.download_checks",
    "assets.hooks.version_checks",
    "assets.hooks.version_views",
    "assets.hooks.demo_stages",
    "assets.hooks.demo_prerequisites",
}
OPERATION_REGISTRY = "assets.operations._registry"
DOTTED = re.compile(r"(?P<app>[a-z]+)(\.[A-Za-z_]\w*)+")
ADMIN_URL = re.compile(r"admin:(?P<label>[a-z]+)_\w+")


def _code_path(text: str) -> bool:
    """Whether `text` names a module or an attribute of one: a task or schedule function, say."""
    module, _, attribute = text.rpartition(".")
    try:
        return attribute in vars(importlib.import_module(module)) or bool(importlib.util.find_spec(text))
    except (ImportError, ValueError):
        return False


def _referenced_apps(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            dotted, url = DOTTED.fullmatch(node.value), ADMIN_URL.fullmatch(node.value)
            if dotted and dotted["app"] in ALLOWED and _code_path(node.value):
                names.add(dotted["app"])
            elif url:
                names |= {app for app in ALLOWED if url["label"] == app}
    return names & set(ALLOWED)


def test_each_app_imports_only_the_apps_below_it():
    found = {}
    for app, allowed in ALLOWED.items():
        for path in sorted((Path(settings.BASE_DIR) / app).rglob("*.py")):
            extra = _referenced_apps(path) - allowed - {app}
            if extra:
                found[str(path.relative_to(settings.BASE_DIR))] = sorted(extra)
    assert found == {}


def test_the_check_sees_a_forbidden_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from review.selectors import approval_attestation\n")
    assert _referenced_apps(module) == {"review"}


def test_the_check_sees_a_higher_app_named_by_its_task_path_or_admin_page(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        'task_send(func="review.tasks.send_notification", name="n", queue=Queue.CPU)\n'
        'reverse("admin:delivery_delivery_change", args=[1])\n'
        'has_perm("review.add_decision")  # a permission is no code path\n'
    )
    assert _referenced_apps(module) == {"review", "delivery"}


def _app_of(module: str) -> str | None:
    app = module.split(".")[0]
    return app if app in ALLOWED else None


def _callables(entry) -> list[Callable]:
    """The code a registry entry hands the core: a function, the functions of a tuple, or an operation's."""
    if isinstance(entry, tuple):
        return [item for item in entry if callable(item)]
    if callable(entry):
        return [entry]
    found = [value for value in vars(entry).values() if callable(value)]
    return found + [check for side in getattr(entry, "files", ()) for check in [side.check] if callable(check)]


def _registries() -> dict[str, list]:
    """Every registry the apps can register into, by dotted name: the module-level collections of assets.hooks and
    the operations registry."""
    found = {
        f"{hooks.__name__}.{name}": list(value.values() if isinstance(value, dict) else value)
        for name, value in vars(hooks).items()
        if not name.startswith("_") and isinstance(value, list | dict | set)
    }
    module, _, name = OPERATION_REGISTRY.rpartition(".")
    found[OPERATION_REGISTRY] = list(getattr(importlib.import_module(module), name).values())
    return found


def registration_problems(registries: dict[str, list], *, documented: set[str]) -> list[str]:
    """What breaks the run-time layering: entries in a registry that is no documented extension point, and code
    registered from a module of no app or from an app below the registry's owner (the owner would call down a level it
    may not even import)."""
    problems = []
    for registry, entries in registries.items():
        owner = _app_of(registry)
        if entries and registry not in documented:
            problems.append(f"{registry} holds {len(entries)} entr(ies) but is no documented extension point")
        for entry in entries:
            modules = [getattr(entry, "module", "")] if getattr(entry, "module", "") else []
            modules += [function.__module__ for function in _callables(entry)]
            for module in modules:
                app = _app_of(module)
                if app is None:
                    problems.append(f"{registry}: {module} is no app's code")
                elif APPS.index(app) < APPS.index(owner):
                    problems.append(f"{registry}: {module} registered from below {owner}")
    return problems


def test_at_run_time_the_core_calls_up_only_through_its_extension_points():
    registries = _registries()
    documented = EXTENSION_POINTS | {OPERATION_REGISTRY}
    assert set(registries) == documented, "a registry was added or removed: document it here and in its module"
    assert registration_problems(registries, documented=documented) == []
    # Each extension point is in use, so the walk above saw real registrations (delivery's C2PA check, the stages,
    # generation's operations).
    assert all(registries[name] for name in documented)


def test_the_run_time_check_sees_a_registration_against_the_stack():
    def round_open(**request):
        """Generation's, registered into a registry of review's: generation would reach a level above it."""

    round_open.__module__ = "generation.services.grids"
    review_registry = {"review.hooks.round_openers": [round_open]}
    assert registration_problems(review_registry, documented=set(review_registry)) == [
        "review.hooks.round_openers: generation.services.grids registered from below review"
    ]
    outside = {"assets.hooks.audit_writers": [lambda **event: None]}
    assert registration_problems(outside, documented=EXTENSION_POINTS) == [
        "assets.hooks.audit_writers holds 1 entr(ies) but is no documented extension point",
        f"assets.hooks.audit_writers: {__name__} is no app's code",
    ]
