"""Typed parameters per operation: what a derivation must record to be re-run from the lineage alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assets.errors import ApplicationError
from assets.imagehash import RERUN_VERDICTS

SAMPLERS = ("dpmpp_2m_karras", "euler_a", "euler", "ddim", "dpmpp_sde_karras", "dpmpp_2m", "pndm", "lms", "heun")


@dataclass(frozen=True)
class Param:
    name: str
    kind: type
    required: bool = True
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    key: bool = False  # shown on lineage pictures and summaries

    def clean(self, value: Any) -> Any:
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, self.kind) or isinstance(value, bool) and self.kind is not bool:
            raise ApplicationError(
                f"parameter {self.name!r} must be {self.kind.__name__}, got {value!r}", extra={"param": self.name}
            )
        if self.choices is not None and value not in self.choices:
            raise ApplicationError(
                f"parameter {self.name!r} must be one of {', '.join(map(str, self.choices))}; got {value!r}",
                extra={"param": self.name, "choices": list(self.choices)},
            )
        if self.minimum is not None and value < self.minimum:
            raise ApplicationError(
                f"parameter {self.name!r} must be at least {self.minimum}; got {value}", extra={"param": self.name}
            )
        if self.maximum is not None and value > self.maximum:
            raise ApplicationError(
                f"parameter {self.name!r} must be at most {self.maximum}; got {value}", extra={"param": self.name}
            )
        return value


_SAMPLING = (
    Param("sampler", str, choices=SAMPLERS, key=True),
    Param("steps", int, minimum=1, maximum=500, key=True),
    Param("cfg", float, minimum=0.0, maximum=50.0, key=True),
    Param("seed", int, minimum=0, maximum=2**63 - 1, key=True),
    Param("width", int, minimum=8, maximum=8192),
    Param("height", int, minimum=8, maximum=8192),
    Param("batch_size", int, required=False, minimum=1, maximum=64),
    Param("noise_device", str, required=False, choices=("cpu", "cuda")),
    # How strongly the IP-Adapter's image prompts (the palette guide, style references) steer the image.
    Param("ip_adapter_scale", float, required=False, minimum=0.0, maximum=2.0, key=True),
)
_STRENGTH = Param("strength", float, minimum=0.0, maximum=1.0, key=True)
HIRES_UPSCALERS = ("latent", "lanczos")

SCHEMAS: dict[str, tuple[Param, ...]] = {
    # A1111's hi-res fix: a second img2img pass at hires_scale × the size, `strength` its denoising strength.
    "txt2img": (
        *_SAMPLING,
        Param("hires_scale", float, required=False, minimum=1.0, maximum=4.0, key=True),
        Param("hires_steps", int, required=False, minimum=0, maximum=500),
        Param("hires_upscaler", str, required=False, choices=HIRES_UPSCALERS, key=True),
        Param("strength", float, required=False, minimum=0.0, maximum=1.0, key=True),
    ),
    "img2img": (*_SAMPLING, _STRENGTH),
    "inpaint": (*_SAMPLING, _STRENGTH, Param("mask_blur", int, required=False, minimum=0, maximum=256)),
    "outpaint": (
        *_SAMPLING,
        Param("target_aspect", str, key=True),
        Param("mask_blur", int, required=False, minimum=0, maximum=256),
    ),
    # Canny thresholds as ControlNet's canny models were trained (OpenCV, 100/200); recipes from before they were
    # recorded keep the image-relative edges they were made with.
    "controlnet": (
        *_SAMPLING,
        Param("control_type", str, choices=("canny", "edge", "depth", "pose"), key=True),
        Param("conditioning_scale", float, minimum=0.0, maximum=4.0, key=True),
        Param("canny_low", int, required=False, minimum=0, maximum=1000),
        Param("canny_high", int, required=False, minimum=0, maximum=1000),
    ),
    "upscale": (
        Param("scale", int, choices=(2, 4), key=True),
        Param("tile", int, minimum=32, maximum=4096),
        Param("tile_overlap", int, minimum=0, maximum=512),
        Param("target_width", int, required=False, minimum=1, maximum=65536),
        Param("target_height", int, required=False, minimum=1, maximum=65536),
    ),
    "grade": (
        Param("exposure", float, minimum=-5.0, maximum=5.0, key=True),
        Param("contrast", float, minimum=0.0, maximum=4.0, key=True),
        Param("saturation", float, minimum=0.0, maximum=4.0, key=True),
        Param("temperature", float, minimum=-100.0, maximum=100.0, key=True),
    ),
    "lut": (
        Param("lut_sha256", str, key=True),
        Param("strength", float, required=False, minimum=0.0, maximum=1.0),
        Param("source", str, required=False, choices=("studio", "brief_palette")),
    ),
    "sharpen": (
        Param("radius", float, minimum=0.0, maximum=50.0, key=True),
        Param("percent", int, minimum=0, maximum=500, key=True),
        Param("threshold", int, minimum=0, maximum=255),
    ),
    "denoise": (Param("strength", float, minimum=0.0, maximum=1.0, key=True),),
    "text_overlay": (
        Param("text", str, key=True),
        Param("font_sha256", str, required=False),
        Param("size", int, minimum=4, maximum=2000),
        Param("colour", str),
        Param("position", str, choices=("top", "center", "bottom")),
        Param("safe_area", float, required=False, minimum=0.0, maximum=0.4),
    ),
    "composite": (Param("blend", str, required=False, choices=("normal", "multiply", "screen")),),
    "rendition": (
        Param("preset", str, key=True),
        Param("width", int, minimum=1, maximum=16384, key=True),
        Param("height", int, minimum=1, maximum=16384, key=True),
        Param("crop_rule", str, choices=("focal", "outpaint")),
        Param("crop", list, required=False),
        Param("format", str, required=False, choices=("JPEG", "PNG", "WEBP", "AVIF", "TIFF")),
        Param("quality", int, required=False, minimum=1, maximum=100),
        Param("colour_profile", str, required=False, choices=("srgb", "none", "cmyk")),
        Param("rendering_intent", str, required=False, choices=("perceptual", "relative", "saturation", "absolute")),
        Param("dpi", float, required=False, minimum=1.0, maximum=100000.0),
    ),
    "icc": (
        Param("profile_sha256", str, key=True),
        Param("intent", str, choices=("perceptual", "relative", "saturation", "absolute")),
        Param("proof", bool, required=False),
    ),
    # An import may carry the recipe another tool wrote into the file (assets.foreign_recipes), read as ours.
    "import": (
        Param("source", str, required=False, key=True),
        Param("note", str, required=False),
        Param("generator", str, required=False, key=True, choices=("automatic1111", "comfyui", "invokeai", "fooocus")),
        Param("sampler", str, required=False, choices=SAMPLERS),
        Param("sampler_source", str, required=False),
        Param("steps", int, required=False),
        Param("cfg", float, required=False),
        Param("seed", int, required=False, minimum=0, maximum=2**63 - 1),
        Param("width", int, required=False),
        Param("height", int, required=False),
        Param("strength", float, required=False),
        Param("models", list, required=False),
        Param("hires_scale", float, required=False),
        Param("hires_steps", int, required=False),
        Param("hires_upscaler", str, required=False, choices=HIRES_UPSCALERS),
        Param("hires_upscaler_source", str, required=False),
        Param("metadata", dict, required=False),
    ),
    "matte": (
        Param("model_family", str, choices=("u2net", "isnet", "birefnet"), key=True),
        Param("grow", int, minimum=-100, maximum=100, key=True),
        Param("feather", float, minimum=0.0, maximum=100.0, key=True),
    ),
    "mask_refine": (
        Param("mask_id", int, minimum=1),
        Param("grow", int, minimum=-100, maximum=100, key=True),
        Param("feather", float, minimum=0.0, maximum=100.0, key=True),
    ),
    "vectorise": (
        Param("colour_mode", str, choices=("color", "binary"), key=True),
        Param("hierarchical", str, choices=("stacked", "cutout")),
        Param("mode", str, choices=("spline", "polygon", "none"), key=True),
        Param("filter_speckle", int, minimum=0, maximum=128),
        Param("colour_precision", int, minimum=1, maximum=8),
        Param("layer_difference", int, minimum=0, maximum=255),
        Param("corner_threshold", int, minimum=0, maximum=180),
        Param("length_threshold", float, minimum=3.5, maximum=10.0),
        Param("splice_threshold", int, minimum=0, maximum=180),
        Param("path_precision", int, minimum=0, maximum=10),
    ),
    "grid": (Param("axes", list, key=True), Param("cells", int, minimum=1, key=True)),
    "reproduce": (
        Param("verdict", str, choices=RERUN_VERDICTS, key=True),
        Param("distance", float, minimum=0.0, key=True),
        Param("fingerprint_diff", list),
    ),
}


def params_clean(*, op: str, params: dict) -> dict:
    """Validate and normalise parameters for `op`; unknown keys are refused so recipes stay complete and exact."""
    try:
        schema = SCHEMAS[op]
    except KeyError as exc:
        raise ApplicationError(f"unknown operation {op!r}", extra={"choices": sorted(SCHEMAS)}) from exc
    if not isinstance(params, dict):
        raise ApplicationError("parameters must be an object")
    known = {param.name for param in schema}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ApplicationError(
            f"unknown parameter(s) for {op}: {', '.join(unknown)}", extra={"unknown": unknown, "allowed": sorted(known)}
        )
    cleaned = {}
    for param in schema:
        if param.name in params:
            cleaned[param.name] = param.clean(params[param.name])
        elif param.required:
            raise ApplicationError(f"parameter {param.name!r} is required for {op}", extra={"param": param.name})
    return cleaned


def params_key_summary(*, op: str, params: dict) -> str:
    """A short label such as "steps 25 · cfg 7.0 · seed 1234" for lineage pictures."""
    keys = [param.name for param in SCHEMAS.get(op, ()) if param.key and param.name in params]
    return " · ".join(f"{name} {params[name]}" for name in keys)
