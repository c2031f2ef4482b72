"""The trained LoRA as a file: kohya's key names and `ss_*` header (so A1111, ComfyUI and Civitai read it as usual)
plus Seed's own `seed.*` keys, and the worker's run of a `train_lora` derivation. Worker-only (torch, diffusers).

The header is made from the recorded derivation alone (no clock, no host), so a re-training that learns the same
tensors writes the same bytes.
"""

from __future__ import annotations

import json
import math
import struct

from assets.errors import ApplicationError
from assets.lora_story import lora_story_read
from assets.models import Derivation, ModelWeights
from assets.services.blobs import blob_open
from assets.services.derivations import OutputImage, OutputWeights
from assets.services.runs import RunScope, RunSuperseded, run_progress
from generation.imaging import png_bytes
from generation.training import Example, Trained, TrainingStopped, lora_train, training_base, training_of

HEADER_FORMAT = "seed.lora.v1"
# kohya's names for the base model families it trains on.
BASE_MODEL_VERSIONS = {
    ModelWeights.Architecture.SD15: "sd_v1",
    ModelWeights.Architecture.SDXL: "sdxl_base_v1-0",
    ModelWeights.Architecture.FLUX1: "flux1",
}
NETWORK_MODULES = {ModelWeights.Architecture.FLUX1: "networks.lora_flux"}
MODELSPEC_ARCHITECTURES = {
    ModelWeights.Architecture.SD15: "stable-diffusion-v1/lora",
    ModelWeights.Architecture.SDXL: "stable-diffusion-xl-v1-base/lora",
    ModelWeights.Architecture.FLUX1: "flux-1-dev/lora",
}


def kohya_tensors(*, state: dict, alpha: float) -> dict:
    """peft's adapter tensors under kohya's names (`lora_unet_…`, `lora_te_…`), each module with its `.alpha`: the
    recipe's, as loaders scale by alpha over rank (diffusers' conversion writes the rank)."""
    import torch
    from diffusers.utils import convert_state_dict_to_kohya

    named = convert_state_dict_to_kohya(state)
    # kohya names SD 1.x's one text encoder `lora_te`; diffusers' conversion numbers it as SDXL's first.
    single_encoder = not any(key.startswith("lora_te2_") for key in named)
    tensors = {}
    for key, value in named.items():
        prefix, _, rest = key.partition("_encoder_")
        if prefix in ("lora_te1", "lora_te2"):
            # CLIP's layers sit under `text_model` in the layout A1111 and kohya name (transformers 5 drops it).
            prefix = "lora_te" if single_encoder else prefix
            key = f"{prefix}_text_model_encoder_{rest}"
        tensors[key] = value.contiguous()
    for key in [key for key in tensors if key.endswith(".alpha")]:
        tensors[key] = torch.tensor(float(alpha))
    return {key: tensors[key] for key in sorted(tensors)}


def diffusers_tensors(*, state: dict, alpha: float, rank: int) -> dict:
    """A FLUX LoRA in diffusers' layout (`transformer.….lora_A.weight`), as ai-toolkit and diffusers' own trainers
    write it and ComfyUI and diffusers read it. The layout has no alpha, so alpha over rank is folded into `lora_B`."""
    scale = alpha / rank
    return {
        key: (value * scale if scale != 1.0 and ".lora_B." in key else value).contiguous()
        for key, value in sorted(state.items())
    }


def lora_header(*, derivation: Derivation, base: ModelWeights, images: list, trained: Trained) -> dict[str, str]:
    """kohya's `ss_*` keys, modelspec's, and Seed's own: the training set by sha256 and version id, the base by
    sha256, the recipe and the derivation."""
    params = derivation.params
    tags: dict[str, int] = {}
    for caption in params["captions"]:
        for tag in (part.strip() for part in caption.split(",")):
            if tag:
                tags[tag] = tags.get(tag, 0) + 1
    header = {
        "ss_network_module": NETWORK_MODULES.get(base.architecture, "networks.lora"),
        "ss_network_dim": str(params["rank"]),
        "ss_network_alpha": str(params["alpha"]),
        "ss_base_model_version": BASE_MODEL_VERSIONS[base.architecture],
        "ss_sd_model_name": base.name,
        "ss_new_sd_model_hash": base.sha256,
        "ss_learning_rate": str(params["learning_rate"]),
        "ss_max_train_steps": str(params["steps"]),
        "ss_train_batch_size": str(params["batch_size"]),
        "ss_resolution": f"({params['resolution']}, {params['resolution']})",
        "ss_enable_bucket": str(params["bucketing"]),
        "ss_seed": str(params["seed"]),
        "ss_num_train_images": str(len(images)),
        "ss_optimizer": "torch.optim.AdamW",
        "ss_network_train_unet_only": str(not params["train_text_encoder"]),
        "ss_training_started_at": str(int(derivation.created_at.timestamp())),
        "ss_output_name": params["name"],
        "ss_tag_frequency": json.dumps({"seed": tags}, sort_keys=True),
        "modelspec.sai_model_spec": "1.0.0",
        "modelspec.architecture": MODELSPEC_ARCHITECTURES[base.architecture],
        "modelspec.implementation": "diffusers",
        "modelspec.title": params["name"],
        "seed.format": HEADER_FORMAT,
        "seed.derivation": str(derivation.pk),
        "seed.base_model_sha256": base.sha256,
        "seed.training_set": json.dumps(
            [
                {"sha256": edge.version.blob_id, "version_id": edge.version_id, "caption": caption}
                for edge, caption in zip(images, params["captions"], strict=True)
            ]
        ),
        "seed.recipe": json.dumps(params, sort_keys=True),
        "seed.final_loss": repr(trained.losses[-1]),
    }
    return header


def lora_bytes(*, derivation: Derivation, base: ModelWeights, images: list, trained: Trained) -> tuple[bytes, dict]:
    """The file, and the header it carries."""
    from safetensors.torch import save

    header = lora_header(derivation=derivation, base=base, images=images, trained=trained)
    params = derivation.params
    if base.architecture == ModelWeights.Architecture.FLUX1:
        tensors = diffusers_tensors(state=trained.state, alpha=params["alpha"], rank=params["rank"])
    else:
        tensors = kohya_tensors(state=trained.state, alpha=params["alpha"])
    return _canonical(save(tensors, metadata=header)), header


def _canonical(data: bytes) -> bytes:
    """The file with its JSON header's keys sorted: safetensors writes the metadata from a hash map, whose order
    changes from one call to the next, and the same LoRA must be the same bytes."""
    (length,) = struct.unpack("<Q", data[:8])
    header = json.dumps(json.loads(data[8 : 8 + length]), sort_keys=True, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)  # the tensor data stays aligned to 8 bytes
    return struct.pack("<Q", len(header)) + header + data[8 + length :]


def training_examples(*, derivation: Derivation, images: list) -> list[Example]:
    from PIL import Image

    examples = []
    for edge, caption in zip(images, derivation.params["captions"], strict=True):
        with blob_open(blob=edge.version.blob) as handle, Image.open(handle) as image:
            examples.append(Example(image=image.convert("RGB"), caption=caption))
    return examples


def trained_again(*, derivation: Derivation, on_step=None) -> tuple[bytes, dict, Trained, ModelWeights]:
    """Train the recorded recipe on the recorded images: the worker's run and `reproduce` both come here."""
    from generation.loader import process_cache

    base, images = training_of(derivation)
    trained = lora_train(
        base=training_base(base),
        examples=training_examples(derivation=derivation, images=images),
        params=derivation.params,
        device=process_cache().placement.device,
        on_step=on_step,
    )
    data, header = lora_bytes(derivation=derivation, base=base, images=images, trained=trained)
    return data, header, trained, base


def _trained(derivation: Derivation, scope: RunScope):
    from generation.environment import environment_fingerprint
    from generation.loader import process_cache
    from generation.runner import infotext_value

    def reported(step: int, loss: float) -> bool:
        if not math.isfinite(loss):
            # A NaN loss never comes back (and neither JSON nor Postgres keeps it): say so, not a database error.
            raise ApplicationError(
                f"the loss diverged to {loss} by step {step}: train again with a lower learning rate "
                f"(this one: {derivation.params['learning_rate']:g})",
                extra={"param": "learning_rate"},
            )
        return run_progress(row=derivation, step=step, measures={"step": step, "loss": round(loss, 6)})

    try:
        data, header, trained, base = trained_again(derivation=derivation, on_step=reported)
    except TrainingStopped as exc:
        raise RunSuperseded(f"derivation {derivation.pk} was cancelled ({exc})") from None
    note = f"LoRA training sample, {derivation.params['name']}, seed {derivation.params['seed']}"
    outputs = [
        OutputImage(
            index=index,
            seed=derivation.params["seed"],
            data=png_bytes(image=image, infotext=f"{infotext_value(note)}, step {step}"),
            width=image.width,
            height=image.height,
        )
        for index, (step, image) in enumerate(trained.samples)
    ]
    weights = OutputWeights(
        data=data,
        kind=ModelWeights.Kind.LORA,
        architecture=base.architecture,
        name=derivation.params["name"],
        training_story=lora_story_read(metadata=header),
    )
    cache = process_cache()
    environment = environment_fingerprint(device=cache.placement.device, dtype=cache.placement.dtype_name, base=base)
    return outputs, environment, 0.0, [weights]


def training_run(*, derivation_id: int) -> str:
    """The worker's whole job for one training: claim, train, record the LoRA and its samples once."""
    from generation.runner import derivation_guarded

    return derivation_guarded(derivation_id=derivation_id, make=_trained, fields={"progress_log": []})
