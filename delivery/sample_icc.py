"""A sample CMYK output profile built in code (ICC v2, printer class, Lab PCS, lut16 tables), for the demo and the
tests: they convert print files through LittleCMS with no profile file on the machine. Its press is a model: four
process inks whose densities add on an off-white sheet, so its gamut, like a real press's, is smaller than a
screen's (a soft proof has something to show), and its separation is naive (grey component replaced by black). A real
job uses the printer's or press's own profile (FOGRA39, GRACoL …)."""

from __future__ import annotations

import itertools
import struct

import numpy as np

from assets.colour import lab_to_srgb, linear_to_srgb, srgb_to_lab, srgb_to_linear


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


# Solid inks and paper as sRGB shows them (ISO coated stock, roughly): the press reaches far less saturated greens,
# blues and reds than a screen, so a soft proof of this profile has something to warn about.
PAPER = (246, 244, 238)
INKS = {"cyan": (0, 160, 227), "magenta": (229, 0, 126), "yellow": (255, 237, 0), "black": (35, 31, 32)}
# Linear sRGB to the ICC's D50 XYZ (Bradford-adapted), for the paper's white point tag.
_SRGB_TO_XYZ_D50 = np.array(
    [[0.4360747, 0.3850649, 0.1430804], [0.2225045, 0.7168786, 0.0606169], [0.0139322, 0.0971045, 0.7141733]]
)
# How much of the grey component black takes over (grey component replacement).
GCR = 0.7
# Light the paper's surface reflects whatever the ink (linear, of the paper's): the press's black is L* 10, not 0.
SURFACE = 0.012


def _densities() -> tuple[np.ndarray, np.ndarray, float]:
    """Each ink's optical density per linear RGB channel over the paper (inks multiply, so densities add)."""
    paper = srgb_to_linear(np.array(PAPER) / 255.0)
    density = {
        name: -np.log(np.clip(srgb_to_linear(np.array(rgb) / 255.0) / paper, 0.005, 1.0)) for name, rgb in INKS.items()
    }
    return paper, np.stack([density["cyan"], density["magenta"], density["yellow"]], axis=-1), density["black"].mean()


def _cmyk_to_lab(cmyk: np.ndarray) -> np.ndarray:
    """Lab relative to the paper (paper white is L 100, as ICC v2 output tables hold it)."""
    _, cmy, black = _densities()
    linear = SURFACE + (1 - SURFACE) * np.exp(-(cmyk[..., :3] @ cmy.T + cmyk[..., 3:4] * black))
    return srgb_to_lab(linear_to_srgb(linear))


def _lab_to_cmyk(lab: np.ndarray) -> np.ndarray:
    """The inks for each colour, black replacing GCR of the grey that cyan, magenta and yellow would print; colours
    beyond the press's reach are clipped to the nearest ink amounts (a naive relative colorimetric)."""
    _, cmy, black = _densities()
    linear = (srgb_to_linear(np.clip(lab_to_srgb(lab), 0, 1)) - SURFACE) / (1 - SURFACE)
    target = -np.log(np.clip(linear, 1e-4, 1.0))
    inverse = np.linalg.inv(cmy)
    inks, per_black = target @ inverse.T, inverse @ np.full(3, black)
    most_black = np.min(np.where(per_black > 0, inks / per_black, np.inf), axis=-1, keepdims=True)
    key = np.clip(GCR * most_black, 0, 1)
    return np.clip(np.concatenate([inks - key * per_black, key], axis=-1), 0, 1)


def _white_point() -> bytes:
    """The paper's XYZ (D50): absolute colorimetric proofs show its tint."""
    paper, _, _ = _densities()
    xyz = paper @ _SRGB_TO_XYZ_D50.T
    return b"".join(_s15(value) for value in xyz)


def sample_cmyk_profile(*, description: str = "Seed sample CMYK (naive GCR, not for press)") -> bytes:
    grid_in, grid_out = 9, 33
    steps = np.linspace(0, 1, grid_in)
    cmyk = np.array(list(itertools.product(steps, repeat=4)))  # first channel slowest, as the CLUT is ordered
    a2b = _lab_v2(_cmyk_to_lab(cmyk))
    lab_axes = [np.linspace(0, 100, grid_out), np.linspace(-128, 127, grid_out), np.linspace(-128, 127, grid_out)]
    lab = np.array(list(itertools.product(*lab_axes)))
    b2a = np.round(_lab_to_cmyk(lab) * 0xFFFF)
    desc = description.encode("ascii") + b"\0"
    tags = {
        b"desc": b"desc" + bytes(4) + struct.pack(">I", len(desc)) + desc + bytes(4 + 4 + 2 + 1 + 67),
        b"cprt": b"text" + bytes(4) + b"No copyright: made by Seed for its demo and tests\0",
        b"wtpt": b"XYZ " + bytes(4) + _white_point(),
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
