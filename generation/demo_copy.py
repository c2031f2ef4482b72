"""The demo's copy overlay: the brief's required copy set on the master by the text overlay, for the review round's
OCR check to read back."""

from __future__ import annotations

from assets.models import ModelWeights, Version
from generation.demo import _earlier, _ran
from generation.services.finishing import finishing_create, upscale_create


def copy_overlay_stage(*, context: dict) -> dict:
    """An upscale of the img2img master (the tiny master's 72 px hold no legible type) with the brief's first line of
    required copy drawn along its bottom by the text overlay; `context["copy_overlay"]` is the version, for the
    review stage to put in its first round."""
    brief, user = context["brief"], context["user"]
    if not brief.required_copy:
        return {}
    copy = brief.required_copy[0]
    master = Version.objects.get(pk=context["generated_master"])
    upscale = _earlier(brief, "upscale", used__version=master) or _ran(
        upscale_create(
            version=master,
            target_width=master.width * 4,
            target_height=master.height * 4,
            upscaler=ModelWeights.objects.get(
                kind=ModelWeights.Kind.UPSCALER, architecture=ModelWeights.Architecture.COMPACT, scale=4
            ),
            created_by=user,
        )
    )
    upscaled = upscale.generated.get().version
    overlay = _earlier(brief, "text_overlay", used__version=upscaled, params__text=copy) or _ran(
        finishing_create(
            version=upscaled,
            op="text_overlay",
            params={"text": copy, "colour": "#FFFFFF", "position": "bottom"},
            created_by=user,
        )
    )
    version = overlay.generated.get().version
    context["copy_overlay"] = version
    return {"copy_overlay": version.pk, "copy": copy, "size": [version.width, version.height]}
