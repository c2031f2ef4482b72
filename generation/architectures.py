"""What a job on each base architecture defaults to and may ask for, read by requests, the worker and infotext.

SD 1.x and SDXL are UNets conditioned through CLIP, sampled by the classic samplers with classifier-free guidance and
prompts read in A1111's syntax. FLUX.1 is a flow-matching transformer with CLIP and T5 encoders: sampled by flow Euler,
steered by distilled guidance (Forge's "Distilled CFG Scale") with true CFG off at 1, its prompt read as written.
SD 3.5 (an MMDiT with CLIP-L, CLIP-G and T5) and Qwen-Image (an MMDiT reading Qwen2.5-VL's states) are flow-matching
too, with real classifier-free guidance and no distilled guidance. FLUX.2 [klein] is a flow-matching transformer
reading Qwen3's states, guided by real CFG from its undistilled base (the distilled [klein] ignores cfg).
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
    # distilled guidance (FLUX) or unused (Qwen-Image); None where the pipeline has no CFG at all (FLUX.1 Fill takes
    # neither true CFG nor a negative prompt), so `cfg` stays at 1.
    cfg_argument: str | None = "guidance_scale"
    flow: bool = False
    # Operations that run on it: FLUX's inpaint and outpaint are another model (Fill), not the base's own pipeline.
    ops: tuple[str, ...] = ("txt2img", "img2img", "inpaint", "outpaint", "controlnet")
    hires_fix: bool = True
    # On a GPU: None loads it in the placement's half precision (float16, as SD always ran); the FLUX-class models'
    # activations overflow float16, and they are made and published in bfloat16.
    cuda_dtype: str | None = None
    # What reads its image prompts (a colour lock, style references): an IP-Adapter, or FLUX's Redux.
    image_prompts: str = "ip_adapter"
    # Other architectures whose LoRAs load into this one: FLUX.1 Kontext is FLUX.1 [dev] fine-tuned, its transformer
    # [dev]'s shape, and studios run their [dev] LoRAs on it.
    lora_architectures: tuple[str, ...] = ()
    # The negative prompt a recipe without one runs with: Qwen-Image's pipeline runs true CFG only when given a
    # negative prompt, so an empty one would silently switch CFG off; Qwen's own examples pass a single space.
    empty_negative_prompt: str | None = None
    # Whether its pipeline takes the negative prompt as text: FLUX.2 [klein]'s takes it only as encoded states (and
    # without them steers away from the empty prompt), so the worker encodes it with the pipeline's own encoder.
    negative_prompt_text: bool = True


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
        prompt_syntax=SYNTAX_PLAIN, distilled_cfg=3.5, cfg_argument="true_cfg_scale", flow=True, cuda_dtype="bfloat16",
        ops=("txt2img", "img2img", "controlnet"), hires_fix=False, image_prompts="redux",
    ),
    # Kontext edits the init image as an instruction says; distilled guidance 2.5 as BFL's reference code runs it.
    ModelWeights.Architecture.FLUX1_KONTEXT: Architecture(
        label="FLUX.1 Kontext", area=1024 * 1024, size_multiple=16, sampler="flow_euler", steps=28, cfg=1.0,
        prompt_syntax=SYNTAX_PLAIN, distilled_cfg=2.5, cfg_argument="true_cfg_scale", flow=True, cuda_dtype="bfloat16",
        ops=("instruct_edit",), hires_fix=False, lora_architectures=(ModelWeights.Architecture.FLUX1,),
    ),
    # Fill repaints a masked region or new margins; BFL run it at distilled guidance 30.
    ModelWeights.Architecture.FLUX1_FILL: Architecture(
        label="FLUX.1 Fill", area=1024 * 1024, size_multiple=16, sampler="flow_euler", steps=28, cfg=1.0,
        prompt_syntax=SYNTAX_PLAIN, distilled_cfg=30.0, cfg_argument=None, flow=True, cuda_dtype="bfloat16",
        ops=("inpaint", "outpaint"), hires_fix=False,
    ),
    # Stability's recommended settings for SD 3.5 Large: 28 steps at CFG 4.5 (3.5 Large Turbo and Medium differ).
    ModelWeights.Architecture.SD35: Architecture(
        label="SD 3.5", area=1024 * 1024, size_multiple=16, sampler="flow_euler", steps=28, cfg=4.5,
        prompt_syntax=SYNTAX_PLAIN, flow=True, cuda_dtype="bfloat16", ops=("txt2img", "img2img"), hires_fix=False,
    ),
    # Qwen's reference settings: 50 steps at true CFG 4, at its native 1328x1328.
    ModelWeights.Architecture.QWEN_IMAGE: Architecture(
        label="Qwen-Image", area=1328 * 1328, size_multiple=16, sampler="flow_euler", steps=50, cfg=4.0,
        prompt_syntax=SYNTAX_PLAIN, cfg_argument="true_cfg_scale", flow=True, cuda_dtype="bfloat16",
        ops=("txt2img", "img2img"), hires_fix=False, empty_negative_prompt=" ",
    ),
    # Qwen-Image fine-tuned to edit the init image as an instruction says, at QwenImageEditPipeline's defaults (50
    # steps, true CFG 4, a megapixel at the init's aspect) and Qwen's example's " " negative. Its transformer is
    # Qwen-Image's shape, so Qwen-Image LoRAs load into it.
    ModelWeights.Architecture.QWEN_IMAGE_EDIT: Architecture(
        label="Qwen-Image-Edit", area=1024 * 1024, size_multiple=16, sampler="flow_euler", steps=50, cfg=4.0,
        prompt_syntax=SYNTAX_PLAIN, cfg_argument="true_cfg_scale", flow=True, cuda_dtype="bfloat16",
        ops=("instruct_edit",), hires_fix=False, lora_architectures=(ModelWeights.Architecture.QWEN_IMAGE,),
        empty_negative_prompt=" ",
    ),
    # FLUX.2 [klein] 4B is Apache-2.0; [klein] 9B (and its base) is under BFL's non-commercial licence: attach the
    # licence when registering it. The pipeline's defaults are the undistilled base's, 50 steps at CFG 4; the
    # distilled [klein] runs in 4 steps and ignores cfg. Its reference images are no init, so there is no img2img.
    ModelWeights.Architecture.FLUX2_KLEIN: Architecture(
        label="FLUX.2 [klein]", area=1024 * 1024, size_multiple=16, sampler="flow_euler", steps=50, cfg=4.0,
        prompt_syntax=SYNTAX_PLAIN, flow=True, cuda_dtype="bfloat16", ops=("txt2img",), hires_fix=False,
        negative_prompt_text=False,
    ),
}  # fmt: skip


def model_dtype(*, device: str, default: str, architecture: str) -> str:
    """The dtype a model of `architecture` loads in on `device`: the placement's, or on a GPU its own half precision."""
    spec = ARCHITECTURES.get(architecture)
    return spec.cuda_dtype if device.startswith("cuda") and spec is not None and spec.cuda_dtype else default


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
    cfg_argument = architecture_of(base=base).cfg_argument
    inputs = {cfg_argument: params["cfg"]} if cfg_argument is not None else {}
    if "distilled_cfg" in params:
        inputs["guidance_scale"] = params["distilled_cfg"]
    return inputs


def negative_prompt_of(*, base: ModelWeights, negative_text: str) -> str | None:
    """The negative prompt the pipeline is given for a recipe's negative text on its base (None: no negative)."""
    return negative_text or architecture_of(base=base).empty_negative_prompt


def lora_fits(*, lora: ModelWeights, base: ModelWeights) -> bool:
    """Whether a LoRA loads into the base: made for its architecture, or for one its architecture takes LoRAs of."""
    if lora.architecture == base.architecture:
        return True
    architecture = ARCHITECTURES.get(base.architecture)
    return architecture is not None and lora.architecture in architecture.lora_architectures


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
    if architecture.cfg_argument is None and params["cfg"] != 1.0:
        raise ApplicationError(
            f"{named} has no classifier-free guidance: leave cfg at 1 and steer it with distilled_cfg",
            extra={"param": "cfg"},
        )
    if "hires_scale" in params and not architecture.hires_fix:
        raise ApplicationError(f"the hi-res fix runs on SD 1.x and SDXL, not {named}", extra={"param": "hires_scale"})
    if params["width"] % architecture.size_multiple or params["height"] % architecture.size_multiple:
        raise ApplicationError(
            f"width and height must be multiples of {architecture.size_multiple} on {architecture.label}, "
            f"got {params['width']}x{params['height']}",
            extra={"code": "size_multiple"},
        )
