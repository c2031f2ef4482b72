"""Train a LoRA on recorded versions: its inputs are the training images (each with the caption recorded in
`captions`, by position) and the base model; its outputs are the sample images it made on the way, as versions,
and the LoRA itself, registered as model weights that name this derivation as their origin (generation/training)."""

from assets.errors import ApplicationError
from assets.models import ModelWeights
from assets.operations import TRAINED, OperationSpec, Param, operation_register, text_storable

# Bases the training loop knows: SD's UNet denoising latents under CLIP text encoders, FLUX.1's transformer by flow
# matching (generation.training_flux).
TRAINABLE = (ModelWeights.Architecture.SD15, ModelWeights.Architecture.SDXL, ModelWeights.Architecture.FLUX1)
# The side of a bucket and of a square crop is a multiple of this: SD's UNet halves the latent three times.
RESOLUTION_STEP = 64
MAX_CAPTION = 1000
# Samples one training makes at most (steps // sample_every).
MAX_SAMPLES = 100
DEFAULTS = {
    "alpha": None,  # the rank, as kohya's and peft's own default is
    "learning_rate": 1e-4,
    "batch_size": 1,
    "resolution": 512,
    "bucketing": False,
    "train_text_encoder": False,
    "optimizer": "adamw",
    "sample_every": 0,
    "sample_steps": 20,
}


def prepare(*, version=None, params: dict, models: dict) -> dict:
    """Every default filled in, so the recipe is complete as recorded and re-trains the same way."""
    params = {**DEFAULTS, **params}
    if params["alpha"] is None and isinstance(params.get("rank"), int):
        params["alpha"] = float(params["rank"])
    if params["alpha"] is None:
        del params["alpha"]
    resolution = params.get("resolution")
    if isinstance(resolution, int) and not isinstance(resolution, bool) and resolution % RESOLUTION_STEP:
        raise ApplicationError(
            f"resolution must be a multiple of {RESOLUTION_STEP} (the UNet halves the latent three times); "
            f"got {resolution}",
            extra={"param": "resolution"},
        )
    steps, every = params.get("steps"), params.get("sample_every")
    if isinstance(steps, int) and isinstance(every, int) and every > steps:
        raise ApplicationError(
            f"sample_every ({every}) is more than the {steps} steps: no sample would be made",
            extra={"param": "sample_every"},
        )
    if isinstance(steps, int) and isinstance(every, int) and not isinstance(every, bool) and every > 0:
        if steps // every > MAX_SAMPLES:
            # Each sample is a full sampling run, held in memory until the training ends.
            raise ApplicationError(
                f"sample_every {every} over {steps} steps makes {steps // every} samples; at most {MAX_SAMPLES}",
                extra={"param": "sample_every"},
            )
    sample_prompt = params.get("sample_prompt")
    if isinstance(sample_prompt, str) and len(sample_prompt) > MAX_CAPTION:
        raise ApplicationError(
            f"the sample prompt is longer than {MAX_CAPTION} characters", extra={"param": "sample_prompt"}
        )
    _captions_check(params.get("captions"))
    return params


def _captions_check(captions) -> None:
    if not isinstance(captions, list) or not all(isinstance(text, str) for text in captions):
        raise ApplicationError("captions must be a list of texts, one per training image", extra={"param": "captions"})
    for position, text in enumerate(captions):
        if len(text) > MAX_CAPTION or not text_storable(text):
            raise ApplicationError(
                f"caption {position} is longer than {MAX_CAPTION} characters or holds a character text cannot carry",
                extra={"param": "captions", "position": position},
            )


operation_register(
    OperationSpec(
        name="train_lora",
        label="Train a LoRA",
        phase="production",
        params=(
            Param("name", str),
            Param("rank", int, minimum=1, maximum=256, key=True),
            Param("alpha", float, minimum=0.01, maximum=1024.0),
            Param("steps", int, minimum=1, maximum=100_000, key=True),
            Param("learning_rate", float, minimum=1e-7, maximum=1.0, key=True),
            Param("batch_size", int, minimum=1, maximum=64),
            Param("resolution", int, minimum=RESOLUTION_STEP, maximum=2048),
            Param("bucketing", bool),
            Param("seed", int, minimum=0, maximum=2**32 - 1, key=True),
            Param("train_text_encoder", bool),
            Param("optimizer", str, choices=("adamw",)),
            Param("captions", list),
            Param("sample_every", int, minimum=0, maximum=100_000),
            Param("sample_prompt", str, required=False),
            Param("sample_steps", int, minimum=1, maximum=150),
        ),
        roles=frozenset({"training_image", "base_model"}),
        c2pa_action="c2pa.created",
        digital_source_type=TRAINED,
        rerun="training",
        queue="gpu",
        prepare=prepare,
    )
)
