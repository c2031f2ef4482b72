"""A sample CMYK output profile built in code (ICC v2, printer class, Lab PCS, lut16 tables), for the demo and the
tests: they convert print files through LittleCMS with no profile file on the machine. Its separation is naive
(grey component replaced by black): a real job uses the printer's or press's own profile (FOGRA39, GRACoL …)."""

from __future__ import annotations

import itertools
import struct

import numpy as np

from assets.colour import lab_to_srgb, srgb_to_lab


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _lab_v2(lab: np.ndarray) -> np.ndarray:
    """Lab to ICC v2's 16-bit Lab encoding (L 100 -> 0xFF00, a and b offset by 128 × 256)."""
    encoded = np.stack([lab[..., 0] / 100 * 0xFF00, (lab[..., 1] + 128) * 256, (lab[..., 2] + 128) * 256], axis=-1)
    return np.clip(np.round(encoded), 0, 0xFFFF).astype(">u2")


def _lut16(*, inputs: int, outputs: int, grid: int, clut: np.ndarray) -> bytes:
    identity = struct.pack(">256H", *np.round(np.linspace(0, 0xFFFF, 256)).astype(int))
    matrix = b"".join(_s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
    return (
        b"mft2"
        + bytes(4)
        + bytes([inputs, outputs, grid, 0])
        + matrix
        + struct.pack(">HH", 256, 256)
        + identity * inputs
        + clut.astype(">u2").tobytes()
        + identity * outputs
    )


def _cmyk_to_rgb(cmyk: np.ndarray) -> np.ndarray:
    return (1 - cmyk[..., :3]) * (1 - cmyk[..., 3:4])


def _rgb_to_cmyk(rgb: np.ndarray) -> np.ndarray:
    black = 1 - rgb.max(axis=-1, keepdims=True)
    colour = np.where(black < 1, (1 - rgb - black) / np.where(black < 1, 1 - black, 1), 0)
    return np.concatenate([colour, black], axis=-1)


def sample_cmyk_profile(*, description: str = "Seed sample CMYK (naive GCR, not for press)") -> bytes:
    grid_in, grid_out = 5, 17
    steps = np.linspace(0, 1, grid_in)
    cmyk = np.array(list(itertools.product(steps, repeat=4)))  # first channel slowest, as the CLUT is ordered
    a2b = _lab_v2(srgb_to_lab(_cmyk_to_rgb(cmyk)))
    lab_axes = [np.linspace(0, 100, grid_out), np.linspace(-128, 127, grid_out), np.linspace(-128, 127, grid_out)]
    lab = np.array(list(itertools.product(*lab_axes)))
    b2a = np.round(_rgb_to_cmyk(np.clip(lab_to_srgb(lab), 0, 1)) * 0xFFFF)
    desc = description.encode("ascii") + b"\0"
    tags = {
        b"desc": b"desc" + bytes(4) + struct.pack(">I", len(desc)) + desc + bytes(4 + 4 + 2 + 1 + 67),
        b"cprt": b"text" + bytes(4) + b"No copyright: made by Seed for its demo and tests\0",
        b"wtpt": b"XYZ " + bytes(4) + _s15(0.9642) + _s15(1.0) + _s15(0.8249),
        b"A2B0": _lut16(inputs=4, outputs=3, grid=grid_in, clut=a2b),
        b"B2A0": _lut16(inputs=3, outputs=4, grid=grid_out, clut=b2a),
    }
    table, body, offset = b"", b"", 128 + 4 + 12 * len(tags)
    for signature, data in tags.items():
        data += bytes(-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (
        struct.pack(">I", size)
        + b"lcms"
        + bytes([2, 0x10, 0, 0])
        + b"prtr"
        + b"CMYK"
        + b"Lab "
        + struct.pack(">6H", 2026, 11, 26, 0, 0, 0)
        + b"acsp"
        + b"APPL"
        + bytes(4)
        + bytes(4)
        + bytes(4)
        + bytes(8)
        + struct.pack(">I", 0)
        + _s15(0.9642)
        + _s15(1.0)
        + _s15(0.8249)
        + b"seed"
        + bytes(16)
        + bytes(28)
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body
