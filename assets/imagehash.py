"""How an image looks, as 64 bits: finds re-encoded or stripped copies (verify) and judges a re-run (reproduce)."""

from __future__ import annotations

import numpy as np
from PIL import Image


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)
    matrix = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n)) * np.sqrt(2 / n)
    matrix[0] /= np.sqrt(2)
    return matrix


_DCT32 = _dct_matrix(32)


def perceptual_hash(image: Image.Image) -> int:
    """A 64-bit DCT hash (pHash): survives re-encoding, resizing and metadata stripping; as a signed int64."""
    if image.mode not in ("RGB", "L"):
        # Palette and alpha images resize by nearest neighbour in their own mode: convert first, as a viewer shows them.
        image = image.convert("RGB")
    grey = np.asarray(image.resize((32, 32), Image.Resampling.LANCZOS, reducing_gap=2.0).convert("L"), dtype=np.float64)
    low = (_DCT32 @ grey @ _DCT32.T)[:8, :8].flatten()
    median = np.median(low[1:])
    value = 0
    for bit in low > median:
        value = (value << 1) | int(bit)
    return value - (1 << 64) if value >= 1 << 63 else value


def hash_distance(first: int, second: int) -> int:
    """Bits in which two perceptual hashes differ (0: looks the same; 64: nothing alike)."""
    return bin((first ^ second) & ((1 << 64) - 1)).count("1")


# A re-run within this many bits of the recorded image looks the same to a person (a perceptual match).
PERCEPTUAL_MATCH_MAX_BITS = 4
RERUN_VERDICTS = ("bit_identical", "perceptual_match", "drifted")


def rerun_verdict(*, identical: bool, distance: float) -> str:
    """How a re-run compares with the recorded image: bit_identical, perceptual_match or drifted."""
    return "bit_identical" if identical else "perceptual_match" if distance <= PERCEPTUAL_MATCH_MAX_BITS else "drifted"
