"""The full environment fingerprint of a generation run (design.md §4). Worker-only: imports torch."""

from __future__ import annotations

import copy
import functools
import os
from contextlib import contextmanager
from typing import TYPE_CHECKING

from assets.environment import environment_fingerprint_base

if TYPE_CHECKING:
    from assets.models import ModelWeights

ML_PACKAGES = ("torch", "diffusers", "transformers", "peft", "safetensors", "spandrel", "Pillow", "numpy", "torchsde")


@functools.lru_cache(maxsize=8)
def _static_fingerprint(device: str) -> dict:
    """What cannot change while the process lives: package versions, platform, the device itself."""
    import importlib.metadata

    import torch

    fingerprint = environment_fingerprint_base()
    packages = {}
    for name in ML_PACKAGES:
        try:
            packages[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            packages[name] = None
    fingerprint["packages"] = {**fingerprint["packages"], **packages}
    cuda = torch.cuda.is_available() and device.startswith("cuda")
    fingerprint.update(
        {
            "device": device,
            "device_name": torch.cuda.get_device_name(0) if cuda else "cpu",
            "cuda": torch.version.cuda if cuda else None,
            "cudnn": torch.backends.cudnn.version() if cuda else None,
            "attention": "sdpa" if hasattr(torch.nn.functional, "scaled_dot_product_attention") else "eager",
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "onednn_max_cpu_isa": _onednn_max_cpu_isa(),
        }
    )
    return fingerprint


def _onednn_max_cpu_isa() -> str | None:
    """The cap an operator put on oneDNN's kernels (None: this CPU's best), read as oneDNN reads it at its first use.

    oneDNN runs torch's CPU convolutions and picks its kernels by ISA on its own: ATEN_CPU_CAPABILITY does not reach
    it, and a lower cap changes the bytes as the capability does. A fleet of mixed CPUs pins both to the ISA every
    host has; either way the fingerprint shows it, so `reproduce` names it when it differs.
    """
    value = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA")
    return value.upper() if value else None


@contextmanager
def torch_threads_pinned(*, threads: int):
    """torch on `threads` CPU threads inside the block, on the process's own count again after it.

    The count splits torch's sums, so it changes the bytes: a derivation is made, and re-made, on a count it records,
    never on whatever the host's core count gives. Restored for a caller that runs jobs in its own process.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def environment_fingerprint(*, device: str, dtype: str, base: ModelWeights | None = None) -> dict:
    """The static part, cached per process, plus what a job or `reproduce` may change (threads, flags) and, for a run
    on a `base`, how the loader ran it (quantisation, CPU offload)."""
    import torch

    from generation.transformer_files import base_environment

    fingerprint = copy.deepcopy(_static_fingerprint(device))
    fingerprint.update(
        {
            "dtype": dtype,
            "threads": torch.get_num_threads(),
            "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
            "cudnn_deterministic": torch.backends.cudnn.deterministic,
            "cudnn_benchmark": torch.backends.cudnn.benchmark,
            "noise_device": "cpu",
        }
    )
    if base is not None:
        fingerprint.update(base_environment(weights=base, device=device))
    return fingerprint


def _flatten(data: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


# Fields that describe the host, not what decides the pixels.
_IGNORED = {"platform", "cpu_count", "packages.seed", "packages.Django"}


def environment_digest(fingerprint: dict) -> str:
    """sha256 of the fields that decide the pixels; the thread count is left out,
    as `reproduce` pins the recorded one."""
    import hashlib
    import json

    deciding = {key: value for key, value in _flatten(fingerprint).items() if key not in _IGNORED | {"threads"}}
    return hashlib.sha256(json.dumps(deciding, sort_keys=True, default=str).encode()).hexdigest()


def fingerprint_diff(*, recorded: dict, current: dict) -> list[dict]:
    """Every environment field that differs, as {field, recorded, current}."""
    a, b = _flatten(recorded), _flatten(current)
    return [
        {"field": key, "recorded": a.get(key), "current": b.get(key)}
        for key in sorted(set(a) | set(b))
        if key not in _IGNORED and a.get(key) != b.get(key)
    ]
