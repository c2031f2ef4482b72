"""Parameters every diffusion operation shares, and the inputs it may read."""

from assets.operations import Param
from assets.prompt_syntax import PROMPT_SYNTAXES
from generation.samplers import SAMPLERS

HIRES_UPSCALERS = ("latent", "lanczos")

SAMPLING = (
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
    # Guidance distilled into the model (FLUX.1 [dev]: 3.5; [schnell]: 0); `cfg` is then true CFG, off at 1.
    Param("distilled_cfg", float, required=False, minimum=0.0, maximum=30.0, key=True),
    # How the prompt was read (assets.prompt_syntax); absent on recipes from before it was recorded: diffusers'.
    Param("prompt_syntax", str, required=False, choices=PROMPT_SYNTAXES),
    # The text the encoders read, where it is not the prompt as written (LoRA tags and --ar taken out).
    Param("prompt_read", str, required=False),
)
STRENGTH = Param("strength", float, minimum=0.0, maximum=1.0, key=True)
MASK_BLUR = Param("mask_blur", int, required=False, minimum=0, maximum=256)

# A generation reads its prompt and models, may look at references and be steered by image prompts, and a
# regeneration records the reviewer's change request it answers.
GENERATION_ROLES = frozenset(
    {
        "prompt",
        "base_model",
        "lora",
        "vae",
        "reference",
        "ip_adapter",
        "image_encoder",
        "guide_image",
        "change_request",
    }
)


def inpainting_pipeline(*, base):
    """The inpainting pipeline of the cached base: FLUX.1 Fill is a model of its own, loaded as its pipeline already;
    SD's inpainting pipelines share the text-to-image base's components."""
    import diffusers

    if isinstance(base, diffusers.FluxFillPipeline):
        return base
    return diffusers.AutoPipelineForInpainting.from_pipe(base)
