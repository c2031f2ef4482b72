"""What the other apps plug into the core, each from its own AppConfig.ready().

The core names the hook and calls what was registered; it never imports an app above it, and no
dependency hides in a dotted path in settings.
"""

from __future__ import annotations

from collections.abc import Callable

# (path, info) -> None; raises ApplicationError to refuse an image at any door (uploads, imports, packs).
upload_checks: list[Callable] = []
# (order, stage(context=) -> summary part): the demo's stages, run in order.
demo_stages: list[tuple[int, Callable]] = []
# () -> what it made (a line for the operator) or "": run before any demo stage; raises ApplicationError to stop it.
demo_prerequisites: list[Callable] = []


def upload_check_register(check: Callable) -> None:
    if check not in upload_checks:
        upload_checks.append(check)


def demo_stage_register(*, order: int, stage: Callable) -> None:
    if all(existing is not stage for _, existing in demo_stages):
        demo_stages.append((order, stage))
        demo_stages.sort(key=lambda item: item[0])


def demo_prerequisite_register(prerequisite: Callable) -> None:
    if prerequisite not in demo_prerequisites:
        demo_prerequisites.append(prerequisite)
