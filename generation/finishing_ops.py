"""What several finishing and delivery steps share: `.cube` LUTs and the palette snap, fonts and text wrapping,
ICC profiles and conversions. Each operation's own pixels live in its module under generation/operations/.

Pillow and numpy only; every function is deterministic so a recorded derivation re-runs to the same bytes.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageCms, ImageDraw, ImageFilter, ImageFont

from assets.colour import hex_rgb, lab_to_srgb, srgb_to_lab
from assets.errors import ApplicationError
from assets.images import label_font

MAX_CUBE_BYTES = 16 * 1024 * 1024
CUBE_SIZES = range(2, 66)  # what Pillow's Color3DLUT accepts


@dataclass(frozen=True)
class CubeLut:
    title: str
    size: int
    table: np.ndarray  # size**3 x 3, red varying fastest, as in the file


def cube_parse(data: bytes) -> CubeLut:
    """Read an Adobe/Resolve `.cube` 3D LUT; anything malformed is refused with the line it is on."""
    if len(data) > MAX_CUBE_BYTES:
        raise ApplicationError(
            f"the LUT file is {len(data)} bytes; at most {MAX_CUBE_BYTES}", extra={"code": "lut_too_large"}
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApplicationError(
            "the LUT file is not text (a .cube file is UTF-8 or ASCII)", extra={"code": "lut_invalid"}
        ) from exc
    size, title, rows = None, "", []
    domain = ([0.0, 0.0, 0.0], [1.0, 1.0, 1.0])
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword = line.split(None, 1)[0].upper()
        try:
            if keyword == "TITLE":
                title = line.split(None, 1)[1].strip().strip('"') if " " in line else ""
            elif keyword == "LUT_3D_SIZE":
                size = int(line.split()[1])
            elif keyword == "LUT_1D_SIZE":
                raise ApplicationError(
                    f"line {number}: 1D LUTs are not supported; give a 3D .cube (LUT_3D_SIZE)",
                    extra={"code": "lut_invalid", "line": number},
                )
            elif keyword in ("DOMAIN_MIN", "DOMAIN_MAX"):
                values = [float(v) for v in line.split()[1:]]
                if len(values) != 3:
                    raise ValueError
                domain[0 if keyword == "DOMAIN_MIN" else 1][:] = values
            elif keyword == "LUT_3D_INPUT_RANGE":
                continue
            else:
                values = [float(v) for v in line.split()]
                if len(values) != 3 or not all(math.isfinite(v) for v in values):
                    raise ValueError
                rows.append(values)
        except (ValueError, IndexError) as exc:
            raise ApplicationError(
                f"line {number} of the LUT is not valid: {raw[:80]!r}", extra={"code": "lut_invalid", "line": number}
            ) from exc
    if size is None:
        raise ApplicationError("the LUT has no LUT_3D_SIZE line", extra={"code": "lut_invalid"})
    if size not in CUBE_SIZES:
        raise ApplicationError(f"LUT_3D_SIZE {size} is out of range (2 to 65)", extra={"code": "lut_invalid"})
    if domain != ([0.0, 0.0, 0.0], [1.0, 1.0, 1.0]):
        raise ApplicationError(
            "only LUTs over the domain 0..1 are supported (DOMAIN_MIN 0 0 0, DOMAIN_MAX 1 1 1)",
            extra={"code": "lut_invalid"},
        )
    if len(rows) != size**3:
        raise ApplicationError(
            f"LUT_3D_SIZE {size} needs {size**3} rows; the file has {len(rows)}", extra={"code": "lut_invalid"}
        )
    return CubeLut(title=title, size=size, table=np.asarray(rows, dtype=np.float64))


def cube_apply(image: Image.Image, lut: CubeLut, *, strength: float = 1.0) -> Image.Image:
    table = np.clip(lut.table, 0.0, 1.0)
    graded = image.convert("RGB").filter(ImageFilter.Color3DLUT(lut.size, table.flatten().tolist()))
    return graded if strength >= 1.0 else Image.blend(image.convert("RGB"), graded, strength)


def palette_cube(
    *, palette: list[str], size: int = 17, pull: float = 0.6, reach: float = 35.0, title: str = ""
) -> bytes:
    """A `.cube` that pulls hue and chroma of nearby colours toward the nearest brand colour; lightness mostly kept.

    A colour's pull fades with its ΔE (CIE76) from that brand colour (Gaussian, `reach`), so greys and far
    colours barely move and the LUT stays smooth.
    """
    if not palette:
        raise ApplicationError("the brief has no palette to snap to")
    steps = np.linspace(0.0, 1.0, size)
    blue, green, red = np.meshgrid(steps, steps, steps, indexing="ij")
    grid = np.stack([red, green, blue], axis=-1).reshape(-1, 3)  # red fastest, as .cube wants
    lab = srgb_to_lab(grid)
    brand = srgb_to_lab(np.array([hex_rgb(colour) for colour in palette]) / 255.0)
    distances = np.linalg.norm(lab[:, None, :] - brand[None, :, :], axis=-1)
    nearest = brand[np.argmin(distances, axis=1)]
    weight = pull * np.exp(-((distances.min(axis=1) / reach) ** 2))
    moved = lab.copy()
    moved[:, 1:] += (nearest[:, 1:] - lab[:, 1:]) * weight[:, None]
    moved[:, 0] += (nearest[:, 0] - lab[:, 0]) * weight * 0.25
    snapped = np.clip(lab_to_srgb(moved), 0.0, 1.0)
    lines = [
        f'TITLE "{title or "Seed palette snap " + " ".join(palette)}"',
        f"LUT_3D_SIZE {size}",
        "DOMAIN_MIN 0.0 0.0 0.0",
        "DOMAIN_MAX 1.0 1.0 1.0",
    ]
    lines += [f"{r:.6f} {g:.6f} {b:.6f}" for r, g, b in snapped]
    return ("\n".join(lines) + "\n").encode()


def font_load(font_data: bytes | None, size: int):
    if font_data is None:
        return label_font(size)
    try:
        return ImageFont.truetype(io.BytesIO(font_data), size)
    except OSError as exc:
        raise ApplicationError(
            "the font file could not be read (TrueType or OpenType expected)", extra={"code": "font_invalid"}
        ) from exc


def wrap_text(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    lines = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if line and draw.textlength(candidate, font=font) > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return "\n".join(lines)


_INTENTS = {
    "perceptual": ImageCms.Intent.PERCEPTUAL,
    "relative": ImageCms.Intent.RELATIVE_COLORIMETRIC,
    "saturation": ImageCms.Intent.SATURATION,
    "absolute": ImageCms.Intent.ABSOLUTE_COLORIMETRIC,
}


def icc_profile_read(data: bytes) -> ImageCms.ImageCmsProfile:
    try:
        return ImageCms.ImageCmsProfile(io.BytesIO(data))
    except (OSError, TypeError, ImageCms.PyCMSError) as exc:
        raise ApplicationError("the ICC profile could not be read", extra={"code": "icc_invalid"}) from exc


def print_profile_check(data: bytes) -> None:
    """A profile a print file can be converted through: an ICC output profile in CMYK."""
    profile = icc_profile_read(data).profile
    if profile.xcolor_space.strip() != "CMYK" or profile.device_class != "prtr":
        raise ApplicationError(
            f"the print profile must be a CMYK output (printer) profile; this one is "
            f"{profile.xcolor_space.strip()}, class {profile.device_class}",
            extra={"code": "icc_not_cmyk"},
        )


def cmyk_convert(image: Image.Image, *, profile_data: bytes, intent: str) -> Image.Image:
    """sRGB pixels converted through a CMYK output profile, as a press or printer is sent them (black point
    compensation on, as print workflows use it)."""
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    try:
        transform = ImageCms.buildTransform(
            srgb,
            icc_profile_read(profile_data),
            "RGB",
            "CMYK",
            renderingIntent=_INTENTS[intent],
            flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
        )
        return ImageCms.applyTransform(image.convert("RGB"), transform)
    except ImageCms.PyCMSError as exc:
        raise ApplicationError(f"the CMYK conversion failed: {exc}", extra={"code": "icc_invalid"}) from exc


def icc_convert(
    image: Image.Image, *, profile_data: bytes, intent: str, proof: bool
) -> tuple[Image.Image, bytes | None]:
    """A print proof (sRGB pixels showing how the profile's device renders them) or a conversion to an RGB profile.

    Returns the pixels and the ICC profile to embed with them (None for sRGB).
    """
    target = icc_profile_read(profile_data)
    colour_space = target.profile.xcolor_space.strip()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    rgb = image.convert("RGB")
    try:
        if proof:
            transform = ImageCms.buildProofTransform(
                srgb,
                srgb,
                target,
                "RGB",
                "RGB",
                renderingIntent=_INTENTS[intent],
                proofRenderingIntent=_INTENTS[intent],
                flags=ImageCms.Flags.SOFTPROOFING,
            )
            return ImageCms.applyTransform(rgb, transform), None
        if colour_space != "RGB":
            raise ApplicationError(
                f"the profile is {colour_space}: masters stay RGB, so use it for a print proof (proof=true)",
                extra={"code": "icc_not_rgb"},
            )
        converted = ImageCms.profileToProfile(rgb, srgb, target, renderingIntent=_INTENTS[intent], outputMode="RGB")
        return converted, target.tobytes()
    except ImageCms.PyCMSError as exc:
        raise ApplicationError(f"the ICC conversion failed: {exc}", extra={"code": "icc_invalid"}) from exc
