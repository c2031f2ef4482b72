"""The recipe of an image made in another tool, read from the metadata that tool wrote into the file.

AUTOMATIC1111 / Forge / SD.Next (PNG `parameters`, JPEG/WebP EXIF UserComment), ComfyUI (PNG `prompt`, its API
graph, walked from the saved image back to the sampler), InvokeAI (`invokeai_metadata`), Fooocus (JSON
`parameters`) and Midjourney (the image description with its job id), one module each. Readers of our own, not
a general library: every one of them is held to caps (MAX_CHUNK here, MAX_NODES and MAX_WALK for ComfyUI's graph),
so a hostile file (huge text, an enormous or cyclic graph, wrong types) is refused with a reason instead of running
away, and the files around it still import.
"""

from __future__ import annotations

import json

from PIL import Image

from assets.errors import ApplicationError
from assets.foreign_recipes.automatic1111 import _automatic1111
from assets.foreign_recipes.comfyui import TO_COMFY, _comfyui
from assets.foreign_recipes.fooocus import _fooocus
from assets.foreign_recipes.invokeai import _invokeai
from assets.foreign_recipes.midjourney import _midjourney, midjourney_metadata
from assets.foreign_recipes.recipe import ForeignRecipe, ModelRef

MAX_CHUNK = 256 * 1024
# The chunks each generator's reader starts from; a file with none of them may still be a Midjourney download.
RECIPE_CHUNKS = {"invokeai_metadata", "prompt", "parameters"}
RAW_KEEP = 16 * 1024


def recipe_read(*, source) -> ForeignRecipe | None:
    """The recipe in the metadata of the image at `source` (a path or an open file), None when it carries none a
    known generator wrote."""
    with Image.open(source) as image:
        chunks = {key: value for key, value in getattr(image, "text", {}).items() if isinstance(value, str)}
        if not chunks and image.format in ("JPEG", "MPO", "WEBP"):
            comment = _user_comment(image)
            if comment:
                chunks["parameters"] = comment
        midjourney = {} if RECIPE_CHUNKS & chunks.keys() else midjourney_metadata(image)
        chunks.update(midjourney)
    too_large = [key for key, value in chunks.items() if len(value) > MAX_CHUNK]
    if too_large:
        raise ApplicationError(
            f"the metadata {', '.join(too_large)} is over {MAX_CHUNK // 1024} kB: not read",
            extra={"code": "metadata_too_large"},
        )
    metadata = {key: value[:RAW_KEEP] for key, value in chunks.items()}
    if "invokeai_metadata" in chunks:
        recipe = _invokeai(_json(chunks["invokeai_metadata"], "invokeai_metadata"))
    elif "prompt" in chunks and chunks["prompt"].lstrip().startswith("{"):
        recipe = _comfyui(_json(chunks["prompt"], "prompt"))
    elif "parameters" in chunks and chunks["parameters"].lstrip().startswith("{"):
        recipe = _fooocus(_json(chunks["parameters"], "parameters"))
    elif "parameters" in chunks:
        recipe = _automatic1111(chunks["parameters"])
    elif midjourney:
        recipe = _midjourney(midjourney)
    else:
        return None
    recipe.metadata = metadata
    return recipe


def _user_comment(image) -> str:
    import piexif.helper

    raw = image.getexif().get_ifd(0x8769).get(0x9286)
    if not isinstance(raw, bytes) or len(raw) > 2 * MAX_CHUNK:
        return ""
    try:
        return piexif.helper.UserComment.load(raw)
    except ValueError:
        return raw[8:].decode("utf-8", errors="replace").strip("\x00")


def _json(text: str, name: str):
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ApplicationError(
            f"the {name} metadata is not readable JSON: {str(exc)[:200]}", extra={"code": "metadata_unreadable"}
        ) from None


__all__ = ["TO_COMFY", "ForeignRecipe", "ModelRef", "_comfyui", "recipe_read"]
