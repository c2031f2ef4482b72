"""Soft proofs: what a CMYK print preset's press makes of a version, shown on an sRGB screen (LittleCMS through
Pillow's ImageCms), and which pixels it cannot reach.

The proof runs the conversion a delivery makes (sRGB to the print profile's CMYK, with the preset's rendering intent
and black point compensation, transparent pixels on white paper) and back to sRGB for the screen. Relative
colorimetric display maps the paper to the screen's white; "paper white" displays absolute colorimetric, so the
paper's tint and the press's black show as they will on the sheet.

Out of gamut, here, is a pixel the press shows more than GAMUT_DELTA_E (CIEDE2000) from what the screen shows: the
screen colour against its proof under the chosen intent and black point compensation, always displayed relative to
the paper (the paper's tint is no gamut problem). Under a colorimetric intent that is the gamut boundary itself; under
perceptual it also counts the colours the intent moves to make room, which is what the reviewer sees change. Why not
LittleCMS's own GAMUTCHECK flag: Pillow cannot set its alarm colour, and a real pixel may hold the default one. The
threshold sits above the round-trip error of a profile's tables (a few ΔE near the boundary) and at the difference a
viewer notices side by side.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageCms

from assets import colour
from assets.errors import ApplicationError

GAMUT_DELTA_E = 5.0
# A proof is for a screen and a share of pixels: a master above this many pixels is box-reduced by a whole factor
# first (a 64-megapixel master costs what an 8-megapixel one does; the share moves only by the mixed edge pixels).
MAX_PROOF_PIXELS = 8_388_608
# Out-of-gamut pixels are painted in diagonal stripes of these two: no picture's own colour reads as the warning.
WARNING_STRIPES = ((255, 0, 255), (0, 0, 0))
STRIPE_PX = 4
INTENTS = {
    "perceptual": ImageCms.Intent.PERCEPTUAL,
    "relative": ImageCms.Intent.RELATIVE_COLORIMETRIC,
    "saturation": ImageCms.Intent.SATURATION,
    "absolute": ImageCms.Intent.ABSOLUTE_COLORIMETRIC,
}


@dataclass(frozen=True)
class Proof:
    image: Image.Image  # sRGB: what the screen should show of the print
    warning: Image.Image  # the proof with the pixels out of gamut painted in WARNING_STRIPES
    out_of_gamut_percent: float


def proof_transform(
    *, profile_data: bytes, intent: str, black_point: bool, paper_white: bool
) -> ImageCms.ImageCmsTransform:
    """sRGB → the press (`intent`, black point compensation as asked) → sRGB, paper white absolute or relative."""
    if intent not in INTENTS:
        raise ApplicationError(f"rendering intent {intent!r} is none of {', '.join(INTENTS)}")
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    flags = ImageCms.Flags.SOFTPROOFING | (ImageCms.Flags.BLACKPOINTCOMPENSATION if black_point else 0)
    try:
        press = ImageCms.ImageCmsProfile(io.BytesIO(profile_data))
        # LittleCMS applies the first intent from the source to the press, the second from the press to the display.
        return ImageCms.buildProofTransform(
            srgb,
            srgb,
            press,
            "RGB",
            "RGB",
            renderingIntent=INTENTS[intent],
            proofRenderingIntent=INTENTS["absolute" if paper_white else "relative"],
            flags=flags,
        )
    except (OSError, ImageCms.PyCMSError) as exc:
        raise ApplicationError(f"the print profile cannot make a proof: {exc}", extra={"code": "icc_invalid"}) from exc


def soft_proof(*, image: Image.Image, profile_data: bytes, intent: str, black_point: bool, paper_white: bool) -> Proof:
    """The proof of `image`, its gamut warning and the share of its pixels out of gamut."""
    screen = colour.on_white(image)
    factor = math.ceil(math.sqrt(screen.width * screen.height / MAX_PROOF_PIXELS))
    if factor > 1:
        screen = screen.reduce(factor)
    # The proof is a function of the colour alone: each distinct colour is converted and measured once.
    pixels = np.asarray(screen).reshape(-1, 3)
    packed = (pixels[:, 0].astype(np.uint32) << 16) | (pixels[:, 1].astype(np.uint32) << 8) | pixels[:, 2]
    distinct, index = np.unique(packed, return_inverse=True)
    sources = np.stack([(distinct >> 16) & 255, (distinct >> 8) & 255, distinct & 255], axis=-1).astype(np.uint8)
    strip = Image.fromarray(sources.reshape(1, -1, 3), "RGB")

    def converted(*, paper: bool) -> np.ndarray:
        transform = proof_transform(
            profile_data=profile_data, intent=intent, black_point=black_point, paper_white=paper
        )
        return np.asarray(ImageCms.applyTransform(strip, transform)).reshape(-1, 3)

    measured = converted(paper=False)
    shown = converted(paper=True) if paper_white else measured
    outside = colour.delta_e2000(colour.srgb_to_lab(sources / 255.0), colour.srgb_to_lab(measured / 255.0))
    mask = (outside > GAMUT_DELTA_E)[index.reshape(-1)]
    proof = shown[index.reshape(-1)]
    size = (screen.height, screen.width, 3)
    diagonal = (np.add.outer(np.arange(screen.height), np.arange(screen.width)) // STRIPE_PX) % 2
    stripes = np.array(WARNING_STRIPES, dtype=np.uint8)[diagonal.reshape(-1)]
    warning = np.where(mask[:, None], stripes, proof)
    return Proof(
        image=Image.fromarray(proof.reshape(size), "RGB"),
        warning=Image.fromarray(warning.reshape(size), "RGB"),
        out_of_gamut_percent=round(100.0 * float(mask.mean()), 2),
    )
