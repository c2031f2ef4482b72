"""What a job on each base architecture defaults to and may ask for, read by requests, the worker and infotext.

SD 1.x and SDXL are UNets conditioned through CLIP, sampled by the classic samplers with classifier-free guidance and
prompts read in A1111's syntax. FLUX.1 is a flow-matching transformer with CLIP and T5 encoders: sampled by flow Euler,
steered by distilled guidance (Forge's "Distilled CFG Scale") with true CFG off at 1, its prompt read as written.
"""

from __future__ import annotations

from dataclasses import dataclass

from assets.errors import ApplicationError
from assets.models import ModelWeights
from assets.prompt_syntax import SYNTAX_A1111, SYNTAX_PLAIN

FLOW_SAMPLERS = ("flow_euler",)


@dataclass(frozen=True)
class Architecture:
    label: str
    area: int  # pixels of the default size, fitted to the brief's aspect
    size_multiple: int  # the VAE's factor, times the transformer's patch where latents are packed
    sampler: str
    steps: int
    cfg: float
    prompt_syntax: str
    distilled_cfg: float | None = None  # None: the model has no distilled guidance
    # The pipeline argument `cfg` goes to: classifier-free guidance, or true CFG where `guidance_scale` is the
    # distilled guidance (FLUX) or unused (Qwen-Image).
    cfg_argument: str = "guidance_scale"
    flow: bool = False
    # Operations that run on it: FLUX's inpaint, outpaint and control are other models (Fill, Control LoRAs), not the
    # base's own pipeline; an IP-Adapter is refused by its architecture (FLUX's image prompt is Redux).
    ops: tuple[str, ...] = ("txt2img", "img2img", "inpaint", "outpaint", "controlnet")
    hires_fix: bool = True


ARCHITECTURES = {
    ModelWeights.Architecture.SD15: Architecture(
        label="SD 1.x", area=512 * 512, size_multiple=8, sampler="dpmpp_2m_karras", steps=25, cfg=7.0,
        prompt_syntax=SYNTAX_A1111,
    ),
    ModelWeights.Architecture.SDXL: Architecture(
        label="SDXL", area=1024 * 1024, size_multiple=8, sampler="dpmpp_2m_karras", steps=25, cfg=7.0,
        prompt_syntax=SYNTAX_A1111,
    ),
    ModelWeights.Architecture.FLUX1: Architecture(
        label="FLUX.1", area=1024 * 1024, size_multiple=16, sampler="flow_euler", steps=28, cfg=1.0,
        prompt_syntax=SYNTAX_PLAIN, distilled_cfg=3.5, cfg_argument="true_cfg_scale", flow=True,
        ops=("txt2img", "img2img"), hires_fix=False,
    ),
}  # fmt: skip


def architecture_of(*, base: ModelWeights) -> Architecture:
    try:
        return ARCHITECTURES[base.architecture]
    except KeyError:
        raise ApplicationError(
            f"{base.name} is {base.get_architecture_display()}: no generation runs on that architecture",
            extra={"code": "architecture_unsupported", "architecture": base.architecture},
        ) from None


def guidance_inputs(*, base: ModelWeights, params: dict) -> dict:
    """The pipeline's guidance arguments for a recipe's parameters on its base."""
    inputs = {architecture_of(base=base).cfg_argument: params["cfg"]}
    if "distilled_cfg" in params:
        inputs["guidance_scale"] = params["distilled_cfg"]
    return inputs


def architecture_op_check(*, base: ModelWeights, op: str) -> None:
    architecture = architecture_of(base=base)
    if op not in architecture.ops:
        raise ApplicationError(
            f"{op} does not run on {base.name} ({architecture.label}); it runs {', '.join(architecture.ops)}",
            extra={"code": "op_unsupported", "op": op},
        )


def architecture_params_check(*, base: ModelWeights, params: dict) -> None:
    """Refuse what the base's architecture cannot run: another family's sampler, distilled guidance on a model
    without it, a second pass it has no pipeline for, a size its latents cannot take."""
    architecture = architecture_of(base=base)
    named = f"{base.name} ({architecture.label})"
    if (params["sampler"] in FLOW_SAMPLERS) != architecture.flow:
        wanted = "a flow-matching sampler (flow_euler)" if architecture.flow else "a sampler other than flow_euler"
        raise ApplicationError(f"{named} samples with {wanted}", extra={"param": "sampler"})
    if "distilled_cfg" in params and architecture.distilled_cfg is None:
        raise ApplicationError(f"{named} has no distilled guidance to set", extra={"param": "distilled_cfg"})
    if "hires_scale" in params and not architecture.hires_fix:
        raise ApplicationError(f"the hi-res fix runs on SD 1.x and SDXL, not {named}", extra={"param": "hires_scale"})
    if params["width"] % architecture.size_multiple or params["height"] % architecture.size_multiple:
        raise ApplicationError(
            f"width and height must be multiples of {architecture.size_multiple} on {architecture.label}, "
            f"got {params['width']}x{params['height']}",
            extra={"code": "size_multiple"},
        )
