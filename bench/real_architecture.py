"""Real-architecture timings without a GPU: SD 1.5 and Real-ESRGAN x4plus at their published sizes.

The tiny models prove correctness, not cost. This builds Stable Diffusion 1.5's UNet (860M parameters), VAE
(84M) and CLIP ViT-L/14 text encoder (123M) from their configs with random weights (offline, nothing
downloaded), registers them as a studio would, and runs one short job (512², 4 steps, one image) through the
worker path and through plain diffusers on the same machine, each with its pipeline already loaded and on the
worker's thread count (SEED_TORCH_THREADS), interleaved so drift in the machine's speed falls on both. Then the
same for a tiled 4× upscale of a 1024² image by RRDBNet x4plus: the worker's finishing job against the bare tiled
network call. Reports load times, peak resident memory and the worker's overhead; on a GPU the same script runs in
fp16.

    python -m bench.real_architecture [--size 512] [--steps 4] [--repeats 2] [--upscale-size 1024]
"""

from __future__ import annotations

import argparse
import gc
import io
import resource
import statistics
import tempfile
import time
from pathlib import Path

from bench._django import django_on_postgres
from bench._result import result_print


def _peak_reset() -> None:
    """Start the peak resident memory over (Linux: VmHWM), so each part reports its own."""
    Path("/proc/self/clear_refs").write_text("5")


def _peak_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024**2
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _sd15_write(folder: Path) -> dict:
    """SD 1.5's published architecture (diffusers' v1-5 configs), random weights, saved as a diffusers folder."""
    import torch
    from diffusers import (
        AutoencoderKL,
        DPMSolverMultistepScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    from generation.tiny import _tokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=64,
        in_channels=4,
        out_channels=4,
        layers_per_block=2,
        block_out_channels=(320, 640, 1280, 1280),
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=768,
        attention_head_dim=8,
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        layers_per_block=2,
        block_out_channels=(128, 256, 512, 512),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        sample_size=512,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=49408,
            hidden_size=768,
            intermediate_size=3072,
            num_hidden_layers=12,
            num_attention_heads=12,
            max_position_embeddings=77,
            hidden_act="quick_gelu",
            bos_token_id=0,
            eos_token_id=2,
            pad_token_id=1,
        )
    )
    scheduler = DPMSolverMultistepScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        steps_offset=1,
        use_karras_sigmas=True,
        algorithm_type="dpmsolver++",
    )
    # The tokenizer's vocabulary is the tiny one: it decides which ids reach the text encoder, not what it costs.
    pipeline = StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=_tokenizer(),
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(str(folder))
    return {
        name: sum(p.numel() for p in module.parameters())
        for name, module in (("unet", unet), ("vae", vae), ("text_encoder", text_encoder))
    }


def _sd15(args, brief, placement) -> dict:
    import torch
    from diffusers import StableDiffusionPipeline
    from django.conf import settings

    from assets.services.weights import model_weights_register
    from generation.environment import torch_threads_pinned
    from generation.loader import process_cache
    from generation.requests import GenerationRequest
    from generation.services.jobs import generation_job_create
    from generation.tasks import run_derivation

    with tempfile.TemporaryDirectory(prefix="seed-bench-sd15-") as folder:
        started = time.perf_counter()
        parameters = _sd15_write(Path(folder))
        built = time.perf_counter() - started
        started = time.perf_counter()
        weights, _ = model_weights_register(
            path=Path(folder),
            kind="base",
            name="SD 1.5 architecture (random weights)",
            architecture="sd15",
            source_name="bench",
            source_version="1",
        )
        registered = time.perf_counter() - started
        started = time.perf_counter()
        plain = StableDiffusionPipeline.from_pretrained(
            folder,
            dtype=placement.torch_dtype,
            local_files_only=True,
            safety_checker=None,
            requires_safety_checker=False,
        )
        plain = plain.to(placement.device)
        plain.set_progress_bar_config(disable=True)
        plain_load = time.perf_counter() - started
    started = time.perf_counter()
    process_cache().base(weights=weights)
    worker_load = time.perf_counter() - started

    params = {
        "steps": args.steps,
        "cfg": 7.0,
        "width": args.size,
        "height": args.size,
        "batch_size": 1,
        "sampler": "dpmpp_2m_karras",
    }
    jobs = [
        generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=weights,
                prompt_text="a lemon soda can on a tin roof",
                params={**params, "seed": seed},
            ),
        )
        for seed in range(args.repeats + 1)
    ]

    def plain_run(seed: int) -> float:
        started = time.perf_counter()
        # On the worker's thread count: the worker pins SEED_TORCH_THREADS for every job, and a peer on more cores
        # would measure the cores, not the worker.
        with torch_threads_pinned(threads=settings.SEED_TORCH_THREADS):
            plain(
                prompt="a lemon soda can on a tin roof",
                negative_prompt=brief.negative_prompt,
                num_inference_steps=args.steps,
                guidance_scale=7.0,
                width=args.size,
                height=args.size,
                generator=torch.Generator(device=placement.device).manual_seed(seed),
            ).images[0]
        if placement.device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - started

    def worker_run(job) -> float:
        started = time.perf_counter()
        assert run_derivation(job.batches.get().derivation_id) == "succeeded"
        return time.perf_counter() - started

    # One run of each first: kernels chosen and memory laid out on first use are not the job's cost.
    warm = (plain_run(0), worker_run(jobs[0]))
    plain_s, worker_s = [], []
    for seed, job in enumerate(jobs[1:], start=1):
        plain_s.append(plain_run(seed))
        worker_s.append(worker_run(job))
    return {
        "parameters": parameters,
        "built": built,
        "registered": registered,
        "plain_load": plain_load,
        "worker_load": worker_load,
        "warm": warm,
        "plain": statistics.median(plain_s),
        "worker": statistics.median(worker_s),
        "peak_gb": _peak_gb(),
    }


def _upscale(args, brief) -> dict:
    import numpy as np
    import torch
    from PIL import Image
    from safetensors.torch import save_file
    from spandrel import ModelLoader
    from spandrel.architectures.ESRGAN import ESRGAN

    from assets.services.versions import version_import
    from assets.services.weights import model_weights_register
    from generation.finishing import finishing_run
    from generation.services.finishing import (
        DEFAULT_TILE,
        DEFAULT_TILE_OVERLAP,
        upscale_create,
    )
    from generation.upscale import upscale_array

    with tempfile.TemporaryDirectory(prefix="seed-bench-esrgan-") as folder:
        path = Path(folder) / "RealESRGAN_x4plus-random.safetensors"
        torch.manual_seed(0)
        save_file(
            {
                key: value.contiguous()
                for key, value in ESRGAN(num_filters=64, num_blocks=23, scale=4).state_dict().items()
            },
            str(path),
        )
        weights, _ = model_weights_register(
            path=path,
            kind="upscaler",
            name="Real-ESRGAN x4plus architecture (random weights)",
            source_name="bench",
            source_version="1",
        )
        descriptor = ModelLoader().load_from_file(str(path))
    descriptor.model.eval()
    size = args.upscale_size
    y, x = np.mgrid[0:size, 0:size]
    pixels = np.stack([(x * 3) % 256, (y * 5) % 256, ((x + y) * 2) % 256], axis=-1).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    from django.core.files.base import ContentFile

    version = version_import(brief=brief, source=ContentFile(buffer.getvalue(), name="upscale-input.png"))
    upscale_array(pixels[:64, :64], descriptor=descriptor, tile=DEFAULT_TILE, overlap=DEFAULT_TILE_OVERLAP)  # warm-up
    started = time.perf_counter()
    upscale_array(pixels, descriptor=descriptor, tile=DEFAULT_TILE, overlap=DEFAULT_TILE_OVERLAP)
    plain = time.perf_counter() - started
    derivation = upscale_create(version=version, target_width=size * 4, target_height=size * 4, upscaler=weights)
    started = time.perf_counter()
    assert finishing_run(derivation_id=derivation.pk) == "succeeded"
    worker = time.perf_counter() - started
    return {
        "plain": plain,
        "worker": worker,
        "tile": DEFAULT_TILE,
        "overlap": DEFAULT_TILE_OVERLAP,
        "peak_gb": _peak_gb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2, help="measured runs of each side, after one warm-up each")
    parser.add_argument("--upscale-size", type=int, default=1024)
    parser.add_argument("--parts", default="sd15,upscale", help="which parts to run, comma-separated (sd15, upscale)")
    args = parser.parse_args()
    with django_on_postgres():
        import torch
        from django.conf import settings

        from assets.services.briefs import brief_create, campaign_create, client_create
        from generation.loader import placement_pick

        placement = placement_pick()
        where = (
            f"{torch.cuda.get_device_name()} {placement.dtype_name}"
            if placement.device == "cuda"
            else f"CPU, {settings.SEED_TORCH_THREADS} thread(s) per job (SEED_TORCH_THREADS), {placement.dtype_name}"
        )
        brief = brief_create(campaign=campaign_create(client=client_create(name="Bench"), name="Real"), title="Real")
        parts = set(args.parts.split(","))
        if "sd15" in parts:
            _sd15_report(args, brief, placement, where)
        if "upscale" in parts:
            _upscale_report(args, brief, where)


def _sd15_report(args, brief, placement, where: str) -> None:
    sd = _sd15(args, brief, placement)
    millions = {name: count / 1e6 for name, count in sd["parameters"].items()}
    ratio = sd["worker"] / sd["plain"]
    print(
        f"SD 1.5 architecture (random weights) on {where}: UNet {millions['unet']:.0f}M, VAE {millions['vae']:.0f}M, "
        f"text encoder {millions['text_encoder']:.0f}M parameters"
    )
    print(f"  built in {sd['built']:.1f} s, registered (hashed, stored) in {sd['registered']:.1f} s")
    print(
        f"  load: plain diffusers {sd['plain_load']:.1f} s, worker (registry layout + cache) {sd['worker_load']:.1f} s "
        "(files just written, so in the page cache; a cold disk adds its read time to both)"
    )
    print(
        f"  {args.size}², {args.steps} steps, 1 image, median of {args.repeats} after a warm-up "
        f"(warm-up: plain {sd['warm'][0]:.1f} s, worker {sd['warm'][1]:.1f} s)"
    )
    print(
        f"  plain diffusers {sd['plain']:.2f} s, worker {sd['worker']:.2f} s: ratio {ratio:.3f}x, "
        f"worker overhead {sd['worker'] - sd['plain']:+.2f} s; peak RSS {sd['peak_gb']:.1f} GB (both pipelines held)"
    )
    result_print(
        name="real sd15",
        ratio=ratio,
        meaning=f"worker / plain diffusers, SD 1.5 architecture {args.size}² {args.steps} steps, pipeline loaded",
        target="<= 1.05x",
        met=ratio <= 1.05,
        details=f"{where}; plain {sd['plain']:.1f} s, worker {sd['worker']:.1f} s; load {sd['plain_load']:.0f} s "
        f"plain, {sd['worker_load']:.0f} s worker; peak RSS {sd['peak_gb']:.1f} GB",
    )
    from generation.loader import process_cache

    process_cache().clear()
    gc.collect()


def _upscale_report(args, brief, where: str) -> None:
    _peak_reset()
    up = _upscale(args, brief)
    ratio = up["worker"] / up["plain"]
    print(
        f"Real-ESRGAN x4plus architecture (random weights) {args.upscale_size}² -> {args.upscale_size * 4}², "
        f"tiles {up['tile']} + {up['overlap']}: bare tiled network {up['plain']:.1f} s, "
        f"worker job {up['worker']:.1f} s "
        f"(reads and decodes the input, writes a {args.upscale_size * 4}² PNG, records it): ratio {ratio:.3f}x; "
        f"peak RSS {up['peak_gb']:.1f} GB"
    )
    result_print(
        name="real upscale",
        ratio=ratio,
        meaning=f"worker job / bare tiled x4plus, {args.upscale_size}² in",
        target="reported",
        met=None,
        details=f"{where}; bare {up['plain']:.1f} s, worker {up['worker']:.1f} s (incl. a "
        f"{args.upscale_size * 4}² PNG encode and store)",
    )


if __name__ == "__main__":
    main()
