"""The visible AI label a channel may ask for, drawn on the variant's pixels at a size a person can read there.

The label is sized from the file's shorter side and never below LABEL_MIN_PX; a wording that does not fit at that
size fails QC rather than shrinking into something nobody reads.
"""

from __future__ import annotations

from PIL import Image, ImageDraw

from delivery.models import ChannelPreset
from delivery.renditions import Rendered
from generation import finishing_ops

# The smallest text, in pixels of the delivered file, taken as legible on a phone at 1:1.
LABEL_MIN_PX = 12
# The label's text height as a share of the file's shorter side: present without covering the picture.
LABEL_SHARE = 1 / 28
# White on a plate this opaque (of 255) over any picture keeps a contrast above 4.5:1 (WCAG AA).
PLATE_ALPHA = 176


def label_apply(*, item: Rendered) -> dict | None:
    """Draw the preset's AI label on the rendition, in place, and return its QC check; None without a label."""
    preset = item.preset
    if not preset.ai_label_placement:
        return None
    item.image, box, size, fits = label_draw(
        item.image, text=preset.ai_label_text.strip(), placement=preset.ai_label_placement
    )
    where = preset.get_ai_label_placement_display().lower()
    return {
        "check": "ai_label",
        "passed": fits,
        "value": size,
        "limit": LABEL_MIN_PX,
        "text": preset.ai_label_text.strip(),
        "placement": preset.ai_label_placement,
        "box": list(box),
        "detail": (
            f"{preset.ai_label_text.strip()!r} drawn at {size} px ({where})"
            if fits
            else f"{preset.ai_label_text.strip()!r} does not fit the {item.image.width}x{item.image.height} file at "
            f"{size} px, the least legible size ({where}): shorten the wording or label a larger preset"
        ),
    }


def label_draw(
    image: Image.Image, *, text: str, placement: str
) -> tuple[Image.Image, tuple[int, int, int, int], int, bool]:
    """`image` with `text` in white on a dark plate at `placement`: (the labelled image, the plate's box, the text size
    in pixels, whether the plate fits inside the image with its margin)."""
    width, height = image.size
    size = max(LABEL_MIN_PX, round(min(width, height) * LABEL_SHARE))
    font = finishing_ops.font_load(None, size)
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad, margin = max(2, size // 3), max(2, size // 2)
    plate = (right - left + 2 * pad, bottom - top + 2 * pad)
    box, fits = _plate_place(size=image.size, plate=plate, placement=placement, margin=margin)
    draw.rectangle(box, fill=(0, 0, 0, PLATE_ALPHA))
    text_x = (width - plate[0]) // 2 if placement == ChannelPreset.LabelPlacement.BOTTOM_BAND else box[0]
    draw.text((text_x + pad - left, box[1] + pad - top), text, font=font, fill=(255, 255, 255, 255))
    labelled = Image.alpha_composite(image.convert("RGBA"), overlay)
    return labelled if image.mode == "RGBA" else labelled.convert(image.mode), box, size, fits


def _plate_place(
    *, size: tuple[int, int], plate: tuple[int, int], placement: str, margin: int
) -> tuple[tuple[int, int, int, int], bool]:
    """The plate's box for `placement`, and whether it fits: a corner keeps a margin from both edges, the bottom band
    spans the width."""
    width, height = size
    plate_w, plate_h = plate
    if placement == ChannelPreset.LabelPlacement.BOTTOM_BAND:
        return (0, height - plate_h, width, height), plate_w <= width and plate_h <= height
    left = margin if placement.endswith("left") else width - margin - plate_w
    top = margin if placement.startswith("top") else height - margin - plate_h
    fits = plate_w + 2 * margin <= width and plate_h + 2 * margin <= height
    return (left, top, left + plate_w, top + plate_h), fits
