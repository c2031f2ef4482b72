"""Tiled vs untiled Real-ESRGAN upscaling: throughput ratio and peak memory, measured in one run.

Uses the real RRDBNet x4plus architecture (64 filters, 23 blocks) with random weights, built by
spandrel and loaded from a safetensors file the way the worker loads registered weights. Each mode
runs in its own fresh process so its peak resident memory is its own. Tiles default to the worker's
own (generation.services.finishing) and the input to one and a half tiles a side, so the run has a
full tile, edge tiles and seams in both directions.

    python -m bench.upscale [--size 384] [--tile 256] [--overlap 16] [--repeats 1]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

from bench._result import result_print


def _write_model(path: Path) -> None:
    import torch
    from safetensors.torch import save_file
    from spandrel.architectures.ESRGAN import ESRGAN

    torch.manual_seed(0)
    model = ESRGAN(num_filters=64, num_blocks=23, scale=4)
    save_file({key: value.contiguous() for key, value in model.state_dict().items()}, str(path))


def _run(model_path: str, size: int, tile: int, overlap: int, repeats: int, threads: int, results) -> None:
    import os

    import django
    import numpy as np
    import torch
    from spandrel import ModelLoader

    # The worker's own tiling code lives in a Django app; no database is touched.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    django.setup()
    from generation.upscale import upscale_array

    torch.set_num_threads(threads)
    descriptor = ModelLoader().load_from_file(model_path)
    descriptor.model.eval()
    y, x = np.mgrid[0:size, 0:size]
    pixels = np.stack([(x * 3) % 256, (y * 5) % 256, ((x + y) * 2) % 256], axis=-1).astype(np.uint8)
    upscale_array(pixels[:32, :32], descriptor=descriptor, tile=tile, overlap=overlap)  # warm-up
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        upscale_array(pixels, descriptor=descriptor, tile=tile, overlap=overlap)
        timings.append(time.perf_counter() - started)
    results.put({"seconds": min(timings), "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def _measure(context, *args) -> dict:
    results = context.Queue()
    process = context.Process(target=_run, args=(*args, results))
    process.start()
    process.join()
    if process.exitcode != 0:
        raise SystemExit(f"the measuring process failed with exit code {process.exitcode}")
    return results.get(timeout=10)


def _computed_share(size: int, tile: int, overlap: int) -> float:
    """Input pixels the tiled run feeds the network, per pixel of the image (overlap makes it above 1)."""
    spans = [min(start + tile + overlap, size) - max(start - overlap, 0) for start in range(0, size, tile)]
    return sum(spans) ** 2 / size**2


def main() -> None:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    django.setup()
    from generation.services.finishing import DEFAULT_TILE, DEFAULT_TILE_OVERLAP

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=DEFAULT_TILE * 3 // 2, help="input side in pixels (output is 4x)")
    parser.add_argument("--tile", type=int, default=DEFAULT_TILE)
    parser.add_argument("--overlap", type=int, default=DEFAULT_TILE_OVERLAP)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="seed-bench-upscale-") as folder:
        model = Path(folder) / "x4plus-random.safetensors"
        _write_model(model)
        untiled = _measure(context, str(model), args.size, 1 << 16, 0, args.repeats, args.threads)
        tiled = _measure(context, str(model), args.size, args.tile, args.overlap, args.repeats, args.threads)
    megapixels = (args.size * 4) ** 2 / 1e6
    ratio = untiled["seconds"] / tiled["seconds"]
    print(f"upscale x4 (RRDBNet 64f/23b, random weights) {args.size}² -> {args.size * 4}², CPU {args.threads} threads")
    print(
        f"  untiled: {untiled['seconds']:.2f} s ({megapixels / untiled['seconds']:.3f} MP/s), "
        f"peak RSS {untiled['peak_mb']:.0f} MB"
    )
    print(
        f"  tiled {args.tile} px + {args.overlap} overlap: {tiled['seconds']:.2f} s "
        f"({megapixels / tiled['seconds']:.3f} MP/s), peak RSS {tiled['peak_mb']:.0f} MB, "
        f"{_computed_share(args.size, args.tile, args.overlap):.2f}x the pixels computed"
    )
    print(
        f"RESULT upscale tiled/untiled throughput = {ratio:.2f}x (target >= 0.8x); "
        f"peak memory tiled/untiled = {tiled['peak_mb'] / untiled['peak_mb']:.2f}x"
    )
    result_print(
        name="upscale",
        ratio=ratio,
        meaning="tiled / untiled x4 throughput",
        target=">= 0.8x",
        met=ratio >= 0.8,
        details=f"peak RSS {tiled['peak_mb']:.0f} vs {untiled['peak_mb']:.0f} MB, {args.size}² in, "
        f"{args.tile}-px tiles + {args.overlap}",
    )


if __name__ == "__main__":
    main()
