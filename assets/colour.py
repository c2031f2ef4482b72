"""Colour science the QC checks and the palette snap share: sRGB <-> CIE Lab (D65), CIEDE2000, dominant colour, names.

numpy and Pillow only, so the web process can run QC and verify without the ML stack.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageColor

_RGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])


def hex_rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i : i + 2], 16) for i in (0, 2, 4))


def rgb_hex(rgb) -> str:
    return "#" + "".join(f"{int(round(c)):02X}" for c in rgb)


def srgb_to_linear(values: np.ndarray) -> np.ndarray:
    return np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(values: np.ndarray) -> np.ndarray:
    values = np.clip(values, 0.0, 1.0)
    return np.where(values <= 0.0031308, values * 12.92, 1.055 * values ** (1 / 2.4) - 0.055)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in 0..1 (any leading shape, last axis 3) to CIE Lab under D65."""
    xyz = srgb_to_linear(np.asarray(rgb, dtype=np.float64)) @ _RGB_TO_XYZ.T / _WHITE_D65
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    xyz = np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * _WHITE_D65
    return linear_to_srgb(xyz @ _XYZ_TO_RGB.T)


def delta_e2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (Sharma, Wu and Dalal's formulation), broadcasting over leading axes."""
    L1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=np.float64), -1, 0)
    L2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=np.float64), -1, 0)
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean**7 / (c_mean**7 + 25**7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dLp = L2 - L1
    dCp = c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0, dh)
    dHp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    Lp_mean = (L1 + L2) / 2
    Cp_mean = (c1p + c2p) / 2
    h_sum = h1p + h2p
    hp_mean = np.where(
        c1p * c2p == 0,
        h_sum,
        np.where(np.abs(h1p - h2p) <= 180, h_sum / 2, np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2)),
    )
    t = (
        1
        - 0.17 * np.cos(np.radians(hp_mean - 30))
        + 0.24 * np.cos(np.radians(2 * hp_mean))
        + 0.32 * np.cos(np.radians(3 * hp_mean + 6))
        - 0.20 * np.cos(np.radians(4 * hp_mean - 63))
    )
    d_theta = 30 * np.exp(-(((hp_mean - 275) / 25) ** 2))
    r_c = 2 * np.sqrt(Cp_mean**7 / (Cp_mean**7 + 25**7))
    s_l = 1 + 0.015 * (Lp_mean - 50) ** 2 / np.sqrt(20 + (Lp_mean - 50) ** 2)
    s_c = 1 + 0.045 * Cp_mean
    s_h = 1 + 0.015 * Cp_mean * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    return np.sqrt((dLp / s_l) ** 2 + (dCp / s_c) ** 2 + (dHp / s_h) ** 2 + r_t * (dCp / s_c) * (dHp / s_h))


def colour_sample(image: Image.Image, longest: int = 128) -> Image.Image:
    """A small RGB copy for colour statistics, which do not need every pixel of a 4096² master: 16k pixels
    put a share within a percent, and a median cut of 256² costs eight times as long (80 ms a variant)."""
    small = on_white(image)
    small.thumbnail((longest, longest), Image.Resampling.BOX)
    return small


def on_white(image: Image.Image) -> Image.Image:
    """RGB as the image shows on a white page: transparent pixels (a cut-out's background) become white, not whatever
    colour they still hold."""
    if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    page = Image.new("RGB", rgba.size, (255, 255, 255))
    page.paste(rgba, mask=rgba.getchannel("A"))
    return page


def dominant_colour(sample: Image.Image) -> tuple[tuple[int, int, int], float]:
    """The most common colour of a `colour_sample` after a median-cut reduction to 8 colours, and its share."""
    quantized = sample.quantize(colors=8, method=Image.Quantize.MEDIANCUT)
    counts = sorted(quantized.getcolors(), reverse=True)
    count, index = counts[0]
    palette = quantized.getpalette()[index * 3 : index * 3 + 3]
    return tuple(palette), count / (sample.width * sample.height)


def palette_coverage(sample: Image.Image, palette: list[str], *, within: float) -> dict[str, float]:
    """Share of a `colour_sample`'s pixels within `within` ΔE2000 of each brand colour."""
    if not palette:
        return {}
    lab = srgb_to_lab(np.asarray(sample, dtype=np.float64).reshape(-1, 3) / 255.0)
    shares = {}
    for colour in palette:
        target = srgb_to_lab(np.array(hex_rgb(colour)) / 255.0)
        shares[colour.upper()] = float(np.mean(delta_e2000(lab, target) <= within))
    return shares


def colour_name(rgb) -> str:
    """The nearest CSS colour name (Pillow's table), by ΔE2000: file names read "crimson", not "#FE2C54"."""
    names = sorted(ImageColor.colormap)
    table = srgb_to_lab(np.array([ImageColor.getrgb(name)[:3] for name in names]) / 255.0)
    distances = delta_e2000(table, srgb_to_lab(np.array(rgb) / 255.0))
    return names[int(np.argmin(distances))]


def nearest_palette_colour(rgb, palette: list[str]) -> tuple[str, float]:
    lab = srgb_to_lab(np.array(rgb) / 255.0)
    distances = [float(delta_e2000(srgb_to_lab(np.array(hex_rgb(c)) / 255.0), lab)) for c in palette]
    best = int(np.argmin(distances))
    return palette[best].upper(), distances[best]
