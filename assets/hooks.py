"""The core's extension points: what the apps above it add to something the core runs for them all.

Direction: an app above registers, from its own AppConfig.ready(), and the core calls what was registered; the core
never imports an app above it, and no dependency hides in a dotted path in settings. A hook is for an open set the
core runs whatever is installed (every check at every door an image comes in by, every demo stage). Work one app asks
of another is a plain call down the stack (assets ← generation ← review ← delivery), never a hook:
tests/assets/test_layering.py holds the registries at run time to the points below and to registrations from above.
"""

from __future__ import annotations

from collections.abc import Callable

# (path, info) -> None; raises ApplicationError to refuse an image at any door (uploads, imports, packs).
# Registered by delivery (an image carrying a C2PA manifest that does not verify is refused).
upload_checks: list[Callable] = []
# (version) -> list[assets.machine_checks.Finding]: the machine-read checks run on a version when it joins a review
# round. Registered by generation (sharpness, halo along a cut-out's edge, copy read back by OCR) and by delivery
# (effective ppi at each print preset's size, out-of-gamut share per print profile, brand colours).
version_checks: list[Callable] = []
# (order, label, url(version) -> str): pages about one version that the review workspace links to, for studio staff
# only (never a guest or a client user). Registered by delivery (the soft proof, the slots at the sizes it delivers).
version_views: list[tuple[int, str, Callable]] = []
# (user, blob) -> None; raises ApplicationError to refuse the full-resolution original at the blob door (previews
# still show). Registered by review (a client user while the review stage that shows them the image locks downloads).
download_checks: list[Callable] = []
# (order, stage(context=) -> summary part): the demo's stages, run in order by `manage.py demo`.
# Registered by every app for its own part of the demo, the core's included.
demo_stages: list[tuple[int, Callable]] = []
# () -> what it made (a line for the operator) or "": run before any demo stage; raises ApplicationError to stop it.
# Registered by delivery (the demo's signing certificate).
demo_prerequisites: list[Callable] = []


def upload_check_register(check: Callable) -> None:
    if check not in upload_checks:
        upload_checks.append(check)


def download_check_register(check: Callable) -> None:
    if check not in download_checks:
        download_checks.append(check)


def version_check_register(check: Callable) -> None:
    if check not in version_checks:
        version_checks.append(check)


def version_view_register(*, order: int, label: str, url: Callable) -> None:
    if all(existing is not url for _, _, existing in version_views):
        version_views.append((order, label, url))
        version_views.sort(key=lambda item: item[0])


def demo_stage_register(*, order: int, stage: Callable) -> None:
    if all(existing is not stage for _, existing in demo_stages):
        demo_stages.append((order, stage))
        demo_stages.sort(key=lambda item: item[0])


def demo_prerequisite_register(prerequisite: Callable) -> None:
    if prerequisite not in demo_prerequisites:
        demo_prerequisites.append(prerequisite)
