"""Re-train a LoRA from its recorded training and say how the result compares: `reproduce --lora`. Worker-only.

The file is bit-identical when the images, captions, recipe and environment are (the header is made from the record
alone). Where it is not, each LoRA paints the training's sample prompt on its seed over the base, and the two
pictures' perceptual hashes decide between a perceptual match and drift, as for a version; the tensors' largest
difference is reported beside it.
"""

from __future__ import annotations

import hashlib

from django.conf import settings

from assets.errors import ApplicationError
from assets.imagehash import hash_distance, perceptual_hash, rerun_verdict
from assets.models import ModelWeights
from generation.training import sample_settings

PROBE_STEPS = 20


def lora_reproduce(*, weights: ModelWeights, threads: int | None = None) -> dict:
    """Train the LoRA's recorded derivation again in memory (nothing is written) and compare with the recorded file."""
    from generation.environment import environment_fingerprint, fingerprint_diff, torch_threads_pinned
    from generation.loader import process_cache, weights_path
    from generation.training_files import trained_again

    derivation = weights.trained_by
    if derivation is None:
        raise ApplicationError(
            f"{weights.name} was registered from outside, not trained here: there is no training to re-run",
            extra={"code": "unrunnable"},
        )
    recorded = weights_path(weights=weights).read_bytes()
    cache = process_cache()
    with torch_threads_pinned(threads=threads or derivation.environment.get("threads") or settings.SEED_TORCH_THREADS):
        data, _, _, base = trained_again(derivation=derivation)
        current = environment_fingerprint(device=cache.placement.device, dtype=cache.placement.dtype_name, base=base)
        sha = hashlib.sha256(data).hexdigest()
        identical = sha == weights.sha256
        distance = (
            0.0 if identical else _probe_distance(derivation=derivation, base=base, recorded=recorded, rerun=data)
        )
    return {
        "weights_id": weights.pk,
        "derivation": derivation.pk,
        "verdict": rerun_verdict(identical=identical, distance=distance),
        "recorded_sha256": weights.sha256,
        "reproduced_sha256": sha,
        "distance": distance,
        "max_abs_difference": 0.0 if identical else _largest_difference(recorded, data),
        "fingerprint_diff": fingerprint_diff(recorded=derivation.environment, current=current),
        "steps": [{"derivation": derivation.pk, "op": derivation.op, "rerun": True}],
    }


def _largest_difference(recorded: bytes, rerun: bytes) -> float | None:
    """The largest absolute difference between the two files' tensors; None when they hold different tensors."""
    from safetensors.torch import load

    before, after = load(recorded), load(rerun)
    if before.keys() != after.keys() or any(before[key].shape != after[key].shape for key in before):
        return None
    return max((float((before[key].float() - after[key].float()).abs().max()) for key in before), default=0.0)


def _probe_distance(*, derivation, base: ModelWeights, recorded: bytes, rerun: bytes) -> float:
    """Bits apart of what the two LoRAs paint: the training's sample prompt on its seed, over the cached base."""
    first, second = (_painted(derivation=derivation, base_weights=base, data=data) for data in (recorded, rerun))
    return float(hash_distance(perceptual_hash(first), perceptual_hash(second)))


def _painted(*, derivation, base_weights, data: bytes):
    import torch
    from safetensors.torch import load

    from generation.loader import process_cache
    from generation.samplers import scheduler_build

    params = derivation.params
    base = process_cache().base(weights=base_weights)
    base.load_lora_weights(load(data), adapter_name="reproduced")
    try:
        sampler, guidance = sample_settings(base)
        base.scheduler = scheduler_build(name=sampler, base_config=base.scheduler.config, seed=params["seed"])
        return base(
            prompt=params.get("sample_prompt") or params["captions"][0],
            num_inference_steps=PROBE_STEPS,
            guidance_scale=guidance,
            width=params["resolution"],
            height=params["resolution"],
            generator=torch.Generator(device="cpu").manual_seed(params["seed"]),
        ).images[0]
    finally:
        base.unload_lora_weights()
