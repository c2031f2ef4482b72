"""What every reader of another tool's recipe shares: the recipe it returns, and checks that turn a value of the
wrong type into a reason instead of an exception."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from assets.errors import ApplicationError

GENERATORS = ("automatic1111", "comfyui", "invokeai", "fooocus", "midjourney")


@dataclass
class ModelRef:
    name: str = ""
    hash: str = ""
    weight: float | None = None


@dataclass
class ForeignRecipe:
    generator: str
    prompt: str = ""
    negative_prompt: str = ""
    params: dict = field(
        default_factory=dict
    )  # sampler (ours), sampler_source, steps, cfg, seed, width, height, strength
    model: ModelRef | None = None
    loras: list[ModelRef] = field(default_factory=list)
    vae: ModelRef | None = None
    metadata: dict = field(default_factory=dict)  # the chunks it came from, each cut to RAW_KEEP characters
    # Why Seed can never run it again, for a tool whose models are not files anyone can register (Midjourney).
    not_reproducible: str = ""


def _number(value, kind, what: str):
    try:
        number = kind(value)
    except (TypeError, ValueError, OverflowError):
        number = None
    if number is None or not math.isfinite(number):
        # NaN and infinity are no setting, and no JSON a recipe can be stored as.
        raise ApplicationError(f"{what} is {str(value)[:40]!r}, not a number", extra={"code": "metadata_wrong_type"})
    return number


def _text(value, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApplicationError(f"{what} is not text", extra={"code": "metadata_wrong_type"})
    return value


def _size(params: dict, width, height) -> None:
    if width is not None and height is not None:
        params["width"], params["height"] = _number(width, int, "the width"), _number(height, int, "the height")
