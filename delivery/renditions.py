"""Channel variants: pixels fitted to a preset (focal crop, resize) or the presentation slate, plus QC and names."""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.utils.text import slugify
from PIL import Image, ImageDraw

from assets import colour
from assets.errors import ApplicationError
from delivery.models import ChannelPreset
from generation import finishing_ops

# The share of the master a crop may cut before an outpaint preset blocks (rounding to whole pixels).
OUTPAINT_TOLERANCE = 0.01
NAME_MAX_WIDTH = 32
# Bundles are unpacked on every platform: no control characters, colons or other reserved punctuation in names.
NAME_LITERAL = re.compile(r"[A-Za-z0-9._ -]*")
# A letter, digit, - or _ to fill (never a slash), an alignment, a width of up to two digits (checked against
# NAME_MAX_WIDTH); no precision, no type.
NAME_SPEC = re.compile(r"(?:[-_0-9A-Za-z]?[<>^])?0?(?P<width>\d{1,2})?")
NAME_FIELDS = ("yyyymmdd", "section", "colour", "seed", "preset", "version", "width", "height", "client", "brief")


def focal_crop_box(
    *, size: tuple[int, int], aspect: tuple[int, int], focal: tuple[float, float]
) -> tuple[int, int, int, int]:
    """The largest box of `aspect` inside `size`, centred on the focal point as far as the edges allow."""
    width, height = size
    aw, ah = aspect
    if width * ah > height * aw:
        box_h, box_w = height, max(1, round(height * aw / ah))
    else:
        box_w, box_h = width, max(1, round(width * ah / aw))
    left = min(max(round(focal[0] * width - box_w / 2), 0), width - box_w)
    top = min(max(round(focal[1] * height - box_h / 2), 0), height - box_h)
    return left, top, left + box_w, top + box_h


def crop_enlargement(*, box: tuple[int, int, int, int], size: tuple[int, int]) -> float:
    """How far the crop box is stretched to fill `size`: above 1, the slot holds more pixels than the master has."""
    left, top, right, bottom = box
    return max(size[0] / (right - left), size[1] / (bottom - top))


def print_ppi(*, preset: ChannelPreset, enlargement: float) -> float | None:
    """Real pixels per inch at the preset's print width (the master's own pixels: a stretch adds none); None for a
    preset that is not printed."""
    if not preset.print_width_mm:
        return None
    return preset.width / (preset.print_width_mm / 25.4) / max(enlargement, 1.0)


@dataclass
class Rendered:
    preset: ChannelPreset
    image: Image.Image
    crop: tuple[int, int, int, int]
    enlargement: float
    source: tuple[int, int]

    @property
    def cut_share(self) -> float:
        """The share of the master's pixels the crop left out."""
        left, top, right, bottom = self.crop
        return 1.0 - (right - left) * (bottom - top) / (self.source[0] * self.source[1])


def render(
    *,
    master: Image.Image,
    preset: ChannelPreset,
    focal: tuple[float, float],
    slate: dict,
    halved: Image.Image | None = None,
) -> Rendered:
    """The preset's pixels from the master. `halved` (the master box-reduced 2×, made once per delivery) serves every
    preset whose crop it still covers at full size: resampling 4096² crops is most of a delivery's pixel work, and a
    2× box average before Lanczos is what Pillow's own reducing_gap does for larger factors."""
    if preset.kind == ChannelPreset.Kind.PRESENTATION:
        image, enlargement = presentation_slate(
            master=master, size=(preset.width, preset.height), slate=slate, halved=halved
        )
        return Rendered(
            preset=preset,
            image=image,
            crop=(0, 0, master.width, master.height),
            enlargement=enlargement,
            source=master.size,
        )
    box = focal_crop_box(size=master.size, aspect=(preset.width, preset.height), focal=focal)
    left, top, right, bottom = box
    enlargement = crop_enlargement(box=box, size=(preset.width, preset.height))
    if halved is not None and (right - left) // 2 >= preset.width and (bottom - top) // 2 >= preset.height:
        crop = halved.crop((left // 2, top // 2, right // 2, bottom // 2))
    else:
        crop = master.crop(box)
    # reducing_gap: a box pre-shrink before Lanczos, several times faster on 4096² masters, visually the same.
    image = crop.resize((preset.width, preset.height), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return Rendered(preset=preset, image=image, crop=box, enlargement=enlargement, source=master.size)


def halved_master(master: Image.Image, presets: list[ChannelPreset]) -> Image.Image | None:
    """The master box-reduced 2×, when it is large enough for that to serve some preset (else None)."""
    smallest = min((min(preset.width, preset.height) for preset in presets), default=0)
    return master.reduce(2) if min(master.size) // 2 >= smallest > 0 else None


def presentation_slate(
    *, master: Image.Image, size: tuple[int, int], slate: dict, halved: Image.Image | None = None
) -> tuple[Image.Image, float]:
    """A 16:9 slate for internal decks: the image on the left, brief, version and recipe on the right."""
    width, height = size
    canvas = Image.new("RGB", size, (24, 24, 28))
    margin = height // 18
    panel_x = int(width * 0.62)
    covers = halved is not None and halved.width >= panel_x - 2 * margin and halved.height >= height - 2 * margin
    fitted = (halved if covers else master).copy()
    fitted.thumbnail((panel_x - 2 * margin, height - 2 * margin), Image.Resampling.LANCZOS, reducing_gap=3.0)
    enlargement = 1.0
    if fitted.width < panel_x - 2 * margin and fitted.height < height - 2 * margin:
        scale = min((panel_x - 2 * margin) / master.width, (height - 2 * margin) / master.height)
        fitted = master.resize(
            (max(1, round(master.width * scale)), max(1, round(master.height * scale))), Image.Resampling.LANCZOS
        )
        enlargement = scale
    canvas.paste(
        fitted,
        (margin + (panel_x - 2 * margin - fitted.width) // 2, (height - fitted.height) // 2),
        fitted if fitted.mode == "RGBA" else None,
    )
    draw = ImageDraw.Draw(canvas)
    title = finishing_ops.font_load(None, max(12, height // 22))
    body = finishing_ops.font_load(None, max(10, height // 48))
    x, y = panel_x, margin
    draw.text((x, y), slate["title"], font=title, fill=(245, 245, 245))
    y += int(height / 22 * 1.6)
    swatch = max(10, height // 30)
    for index, hex_colour in enumerate(slate.get("palette", [])):
        draw.rectangle(
            [x + index * (swatch + 6), y, x + index * (swatch + 6) + swatch, y + swatch],
            fill=colour.hex_rgb(hex_colour),
        )
    y += swatch + margin // 2
    text_width = width - panel_x - margin
    for line in slate["lines"]:
        wrapped = finishing_ops.wrap_text(draw, line, body, text_width)
        draw.multiline_text((x, y), wrapped, font=body, fill=(200, 200, 205), spacing=4)
        y += draw.multiline_textbbox((x, y), wrapped, font=body, spacing=4)[3] - y + height // 80
        if y > height - margin:
            break
    return canvas, enlargement


def qc_facts(*, rendered: Rendered, palette: list[str], upscaled_by: int | None) -> dict:
    """Facts about one variant and the checks they pass or fail; a failed check blocks delivery unless overridden."""
    preset = rendered.preset
    sample = colour.colour_sample(rendered.image)
    dominant, share = colour.dominant_colour(sample)
    checks = [
        check
        for check in (
            _resolution_check(rendered=rendered, upscaled_by=upscaled_by),
            _outpaint_check(rendered=rendered),
            _print_ppi_check(rendered=rendered),
            _background_contrast_check(preset=preset, dominant=dominant),
            brand_palette_check(sample=sample, palette=palette),
        )
        if check is not None
    ]
    nearest, distance = colour.nearest_palette_colour(dominant, palette) if palette else (None, None)
    return {
        "preset": preset.slug,
        "width": rendered.image.width,
        "height": rendered.image.height,
        "crop": list(rendered.crop),
        "dominant": colour.rgb_hex(dominant),
        "dominant_share": round(share, 3),
        "nearest_brand_colour": nearest,
        "nearest_brand_delta_e": round(distance, 2) if distance is not None else None,
        "checks": checks,
        "passed": all(check["passed"] for check in checks),
    }


def _resolution_check(*, rendered: Rendered, upscaled_by: int | None) -> dict:
    return {
        "check": "resolution",
        "passed": rendered.enlargement <= 1.0 + 1e-6,
        "value": round(rendered.enlargement, 3),
        "limit": 1.0,
        "model_factor": upscaled_by,
        "detail": (
            "the slot is covered by real pixels"
            if rendered.enlargement <= 1.0 + 1e-6
            else f"the master would be stretched {rendered.enlargement:.2f}x for this slot: "
            "upscale it with Real-ESRGAN first"
        ),
    }


def _outpaint_check(*, rendered: Rendered) -> dict | None:
    preset = rendered.preset
    if preset.crop_rule != ChannelPreset.CropRule.OUTPAINT or preset.kind != ChannelPreset.Kind.IMAGE:
        return None
    # Outpainting here would deliver generated pixels the client never approved: it belongs before
    # sign-off, as a generation job whose result is reviewed like any version.
    cut = rendered.cut_share
    divisor = math.gcd(preset.width, preset.height)
    aspect = f"{preset.width // divisor}:{preset.height // divisor}"
    return {
        "check": "outpaint",
        "passed": cut <= OUTPAINT_TOLERANCE,
        "value": round(cut, 3),
        "limit": OUTPAINT_TOLERANCE,
        "detail": (
            "the master already has the slot's aspect"
            if cut <= OUTPAINT_TOLERANCE
            else f"the slot is {aspect} and cropping would cut {cut:.0%} of the master: outpaint it "
            f"with a generation job (op outpaint, target_aspect {aspect}), have that version "
            "approved and deliver it, or override to crop around the focal point"
        ),
    }


def _print_ppi_check(*, rendered: Rendered) -> dict | None:
    preset = rendered.preset
    ppi = print_ppi(preset=preset, enlargement=rendered.enlargement)
    if ppi is None:
        return None
    return {
        "check": "print_ppi",
        "passed": ppi >= preset.min_ppi,
        "value": round(ppi, 1),
        "limit": preset.min_ppi,
        "detail": f"{ppi:.0f} real pixels per inch at {preset.print_width_mm:g} mm wide",
    }


def _background_contrast_check(*, preset: ChannelPreset, dominant) -> dict | None:
    if not preset.background_colour:
        return None
    threshold = preset.min_delta_e if preset.min_delta_e is not None else settings.SEED_QC_MIN_DELTA_E
    delta = float(
        colour.delta_e2000(
            colour.srgb_to_lab(np.array(dominant) / 255.0),
            colour.srgb_to_lab(np.array(colour.hex_rgb(preset.background_colour)) / 255.0),
        )
    )
    return {
        "check": "background_contrast",
        "passed": delta >= threshold,
        "value": round(delta, 2),
        "limit": threshold,
        "detail": f"dominant {colour.rgb_hex(dominant)} vs section background {preset.background_colour} (ΔE2000)",
    }


def brand_palette_check(*, sample, palette: list[str]) -> dict | None:
    """The share of a colour sample within reach of the brand's palette (delivery QC, and the checklist's check)."""
    if not palette:
        return None
    coverage = colour.palette_coverage(sample, palette, within=settings.SEED_QC_PALETTE_DELTA_E)
    total = sum(coverage.values())
    return {
        "check": "brand_palette",
        "passed": total >= settings.SEED_QC_PALETTE_MIN_SHARE,
        "value": round(total, 4),
        "limit": settings.SEED_QC_PALETTE_MIN_SHARE,
        "coverage": {key: round(value, 4) for key, value in coverage.items()},
        "detail": f"share of pixels within ΔE2000 {settings.SEED_QC_PALETTE_DELTA_E:g} of a brand colour",
    }


def name_template_check(template: str) -> None:
    """A template like {yyyymmdd}_{section}_{colour}_{seed}: known fields only, no folders, and a format spec only
    to align or pad within NAME_MAX_WIDTH ({seed:0>8}): `{seed:>999999999}` would allocate a gigabyte per name."""
    if not template or len(template) > 200 or "/" in template or "\\" in template or ".." in template:
        raise ApplicationError("the name template must be a plain file name (no folders) of at most 200 characters")
    try:
        pieces = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ApplicationError(f"the name template is malformed: {exc}") from exc
    literal = "".join(text for text, *_ in pieces)
    if not NAME_LITERAL.fullmatch(literal):
        raise ApplicationError(
            "the name template's own text may hold letters, digits, '.', '-', '_' and spaces only",
            extra={"text": literal},
        )
    if any(conversion is not None for *_, conversion in pieces):
        raise ApplicationError("a name field takes no conversion (!r, !s, !a): the value is slugged as it is")
    parsed = [(field, spec) for _, field, spec, _ in pieces if field is not None]
    for field, spec in parsed:
        padding = NAME_SPEC.fullmatch(spec)
        if padding is None or int(padding["width"] or 0) > NAME_MAX_WIDTH:
            raise ApplicationError(
                f"{{{field}:{spec}}}: a name field may only be aligned or padded to at most "
                f"{NAME_MAX_WIDTH} characters, like {{seed:0>8}}",
                extra={"field": field, "spec": spec},
            )
    fields = [field for field, _ in parsed]
    unknown = sorted({field for field in fields if field not in NAME_FIELDS})
    if unknown or not fields:
        raise ApplicationError(
            f"unknown name field(s): {', '.join(unknown) or '(none given)'}; use {', '.join(NAME_FIELDS)}",
            extra={"allowed": list(NAME_FIELDS)},
        )


def file_name(*, template: str, values: dict, extension: str, taken: set[str]) -> str:
    """The template filled with slugged values; a name already taken gets _2, _3 … and is never overwritten."""
    name_template_check(template)  # a template stored before the spec limit is refused here, not rendered
    safe = {key: re.sub(r"-+", "-", slugify(str(value))) or "x" for key, value in values.items()}
    stem = template.format(**safe)[:180]
    name, counter = f"{stem}.{extension}", 2
    while name.lower() in taken:
        name, counter = f"{stem}_{counter}.{extension}", counter + 1
    taken.add(name.lower())
    return name
