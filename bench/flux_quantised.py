"""FLUX.1 at its real width without a GPU: the worker against plain diffusers, and GGUF Q8_0 against unquantised.

The tiny FLUX proves correctness, not cost. This builds FLUX.1's transformer at its published width (hidden 3072 = 24
heads x 128, T5-XXL's 4096-wide context, CLIP-L's 768-wide pooled prompt, the 16-channel latents in 2x2 patches) but
with a few of its 19 double- and 38 single-stream blocks, so a CPU runs it in minutes; its text encoders and VAE are
tiny ones of the right output widths (the same cost on both sides). Random weights, nothing downloaded.

(a) One short txt2img job through the worker against the same call of plain diffusers' FluxPipeline on the same
folder, each with its pipeline loaded and on the worker's thread count (SEED_TORCH_THREADS), interleaved.
(b) The transformer as a studio downloads it, one .safetensors or GGUF Q8_0 (city96's quantisation): the time and
peak resident memory of loading each with from_single_file, and the bytes the loaded model holds.

    python -m bench.flux_quantised [--size 128] [--steps 2] [--repeats 2] [--double 1] [--single 1] [--parts gguf]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from pathlib import Path

from bench._django import django_on_postgres
from bench._result import result_print
from bench.real_architecture import _peak_gb, _peak_reset

PROMPT = "a lemon soda can on a tin roof, golden hour"


def _flux_write(folder: Path, *, double: int, single: int) -> int:
    """FLUX.1's transformer at full width with `double` + `single` blocks, tiny encoders and VAE of FLUX's widths."""
    import torch
    from diffusers import FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    from generation.tiny import _tokenizer
    from generation.tiny_flux import _t5_tokenizer, _vae, tiny_flux_pipeline

    torch.manual_seed(0)
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=64,
        num_layers=double,
        num_single_layers=single,
        attention_head_dim=128,
        num_attention_heads=24,
        joint_attention_dim=4096,
        pooled_projection_dim=768,
        guidance_embeds=True,
        axes_dims_rope=(16, 56, 56),
    )
    clip = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0,
            eos_token_id=2,
            pad_token_id=1,
            hidden_size=768,
            intermediate_size=64,
            num_attention_heads=2,
            num_hidden_layers=1,
            vocab_size=128,
        )
    )
    t5 = T5EncoderModel(
        T5Config(
            vocab_size=128,
            d_model=4096,
            d_kv=32,
            d_ff=64,
            num_layers=1,
            num_heads=2,
            relative_attention_num_buckets=8,
            feed_forward_proj="gated-gelu",
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
        )
    )
    FluxPipeline(
        transformer=transformer,
        vae=_vae(),
        text_encoder=clip,
        tokenizer=_tokenizer(),
        text_encoder_2=t5,
        tokenizer_2=_t5_tokenizer(),
        scheduler=tiny_flux_pipeline(seed=0).scheduler,
    ).save_pretrained(str(folder))
    return sum(parameter.numel() for parameter in transformer.parameters())


def _worker_vs_plain(args, brief, folder: Path, placement) -> dict:
    import torch
    from diffusers import FluxPipeline
    from django.conf import settings

    from assets.services.weights import model_weights_register
    from generation.environment import torch_threads_pinned
    from generation.loader import process_cache
    from generation.requests import GenerationRequest
    from generation.services.jobs import generation_job_create
    from generation.tasks import run_derivation

    weights, _ = model_weights_register(
        path=folder, kind="base", name="FLUX.1 width (random weights)", source_name="bench", source_version="1"
    )
    plain = FluxPipeline.from_pretrained(str(folder), dtype=placement.torch_dtype, local_files_only=True)
    plain = plain.to(placement.device)
    plain.set_progress_bar_config(disable=True)
    process_cache().base(weights=weights)
    params = {"steps": args.steps, "width": args.size, "height": args.size, "batch_size": 1}
    jobs = [
        generation_job_create(
            request=GenerationRequest(
                brief=brief, op="txt2img", base_model=weights, prompt_text=PROMPT, params={**params, "seed": seed}
            )
        )
        for seed in range(args.repeats + 1)
    ]

    def plain_run(seed: int) -> float:
        started = time.perf_counter()
        # On the worker's thread count, as the worker pins it for every job.
        with torch_threads_pinned(threads=settings.SEED_TORCH_THREADS):
            plain(
                prompt=PROMPT,
                num_inference_steps=args.steps,
                guidance_scale=3.5,
                true_cfg_scale=1.0,
                width=args.size,
                height=args.size,
                generator=torch.Generator(device="cpu").manual_seed(seed),
            ).images[0]
        if placement.device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - started

    def worker_run(job) -> float:
        started = time.perf_counter()
        assert run_derivation(job.batches.get().derivation_id) == "succeeded"
        return time.perf_counter() - started

    warm = (plain_run(0), worker_run(jobs[0]))
    plain_s, worker_s = [], []
    for seed, job in enumerate(jobs[1:], start=1):
        plain_s.append(plain_run(seed))
        worker_s.append(worker_run(job))
    # The next part measures memory: the worker's copy goes now, the plain one when this returns.
    process_cache().clear()
    gc.collect()
    return {"warm": warm, "plain": statistics.median(plain_s), "worker": statistics.median(worker_s)}


def _rss_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024**2
    return 0.0


def _resident(model) -> None:
    """Read a value from every page of every weight: safetensors are memory-mapped, so a load alone reads nothing,
    and the first step would pay for it instead."""
    import torch

    with torch.no_grad():
        for tensor in (*model.parameters(), *model.buffers()):
            flat = torch.Tensor.as_subclass(tensor, torch.Tensor).reshape(-1)
            flat[:: max(1, 4096 // flat.element_size())].sum()


def _load_measured(load) -> dict:
    """Seconds to load and to have every weight in memory, the peak resident memory above the start, and the bytes
    the model holds, for one load."""
    from generation.loader import model_bytes

    gc.collect()
    _peak_reset()
    before = _rss_gb()
    started = time.perf_counter()
    model = load()
    loaded = time.perf_counter() - started
    _resident(model)
    seconds = time.perf_counter() - started
    measured = {
        "loaded": loaded,
        "seconds": seconds,
        "peak_gb": _peak_gb() - before,
        "held_gb": model_bytes(model) / 1024**3,
    }
    del model
    gc.collect()
    return measured


def _gguf_vs_unquantised(folder: Path, placement) -> dict:
    import diffusers

    from generation.transformer_files_write import transformer_gguf_write, transformer_safetensors_write

    transformer = diffusers.FluxTransformer2DModel.from_pretrained(str(folder / "transformer"))
    files = Path(tempfile.mkdtemp(prefix="seed-bench-flux-files-"))
    single = transformer_safetensors_write(transformer=transformer, path=files / "flux1-width.safetensors")
    started = time.perf_counter()
    gguf = transformer_gguf_write(transformer=transformer, path=files / "flux1-width-Q8_0.gguf")
    quantised_in = time.perf_counter() - started
    del transformer
    config = str(folder / "transformer")
    common = {"config": config, "dtype": placement.torch_dtype, "local_files_only": True}
    quantisation = diffusers.GGUFQuantizationConfig(compute_dtype=placement.torch_dtype)
    # Twice each, the first to bring both files into the page cache: a cold disk adds its read time to both.
    for _ in range(2):
        plain = _load_measured(lambda: diffusers.FluxTransformer2DModel.from_single_file(str(single), **common))
        quantised = _load_measured(
            lambda: diffusers.FluxTransformer2DModel.from_single_file(
                str(gguf), quantization_config=quantisation, **common
            )
        )
    sizes = {"safetensors_gb": single.stat().st_size / 1024**3, "gguf_gb": gguf.stat().st_size / 1024**3}
    for path in (single, gguf):
        path.unlink()
    files.rmdir()
    return {"plain": plain, "quantised": quantised, "quantised_in": quantised_in, **sizes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="measured runs of each side, after one warm-up each")
    parser.add_argument("--double", type=int, default=1, help="double-stream blocks (FLUX.1 has 19)")
    parser.add_argument("--single", type=int, default=1, help="single-stream blocks (FLUX.1 has 38)")
    parser.add_argument("--parts", default="txt2img,gguf", help="which parts to run, comma-separated (txt2img, gguf)")
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
        brief = brief_create(campaign=campaign_create(client=client_create(name="Bench"), name="FLUX"), title="FLUX")
        with tempfile.TemporaryDirectory(prefix="seed-bench-flux-") as folder:
            parameters = _flux_write(Path(folder), double=args.double, single=args.single)
            print(
                f"FLUX.1 width (random weights) on {where}: transformer {parameters / 1e6:.0f}M parameters "
                f"({args.double} double + {args.single} single blocks of FLUX.1's 19 + 38)"
            )
            parts = set(args.parts.split(","))
            if "txt2img" in parts:
                _report_worker(args, _worker_vs_plain(args, brief, Path(folder), placement), where)
            if "gguf" in parts:
                _report_gguf(_gguf_vs_unquantised(Path(folder), placement), where)


def _report_worker(args, run: dict, where: str) -> None:
    ratio = run["worker"] / run["plain"]
    print(
        f"  txt2img {args.size}², {args.steps} steps, 1 image, median of {args.repeats} after a warm-up "
        f"(warm-up: plain {run['warm'][0]:.1f} s, worker {run['warm'][1]:.1f} s)"
    )
    print(f"  plain FluxPipeline {run['plain']:.2f} s, worker {run['worker']:.2f} s: ratio {ratio:.3f}x")
    result_print(
        name="flux txt2img",
        ratio=ratio,
        meaning=f"worker / plain FluxPipeline, FLUX.1 width {args.size}² {args.steps} steps, pipeline loaded",
        target="<= 1.05x",
        met=ratio <= 1.05,
        details=f"{where}; plain {run['plain']:.1f} s, worker {run['worker']:.1f} s",
    )


def _report_gguf(run: dict, where: str) -> None:
    plain, quantised = run["plain"], run["quantised"]
    print(
        f"  transformer files: .safetensors {run['safetensors_gb']:.2f} GB, GGUF Q8_0 {run['gguf_gb']:.2f} GB "
        f"(quantised in {run['quantised_in']:.1f} s)"
    )
    for label, measured in (("unquantised", plain), ("GGUF Q8_0", quantised)):
        print(
            f"  load {label}: {measured['loaded']:.2f} s, every weight in memory after {measured['seconds']:.2f} s, "
            f"peak RSS +{measured['peak_gb']:.2f} GB, holds {measured['held_gb']:.2f} GB"
        )
    seconds = quantised["seconds"] / plain["seconds"]
    memory = quantised["peak_gb"] / plain["peak_gb"]
    result_print(
        name="gguf load",
        ratio=seconds,
        meaning="GGUF Q8_0 / unquantised transformer load until every weight is in memory (from_single_file, files "
        "in the page cache)",
        target="reported",
        met=None,
        details=f"{where}; {quantised['seconds']:.2f} s vs {plain['seconds']:.2f} s (the load call alone: "
        f"{quantised['loaded']:.2f} s vs {plain['loaded']:.2f} s, safetensors being memory-mapped)",
    )
    result_print(
        name="gguf memory",
        ratio=memory,
        meaning="GGUF Q8_0 / unquantised peak resident memory of the load",
        target="reported",
        met=None,
        details=f"+{quantised['peak_gb']:.2f} GB vs +{plain['peak_gb']:.2f} GB; the loaded model holds "
        f"{quantised['held_gb']:.2f} GB vs {plain['held_gb']:.2f} GB",
    )


if __name__ == "__main__":
    main()
