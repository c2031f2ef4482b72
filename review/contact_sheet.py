"""A round's contact sheet: every version with its id, stars and decisions, as PNG or PDF."""

from __future__ import annotations

import io
from collections import Counter, defaultdict

from django.db.models import Avg
from PIL import Image, ImageDraw, ImageFont, ImageOps

from assets.services.blobs import blob_open
from review.models import Rating, ReviewRound
from review.selectors import current_decisions, result_label, round_results

CELL_W, CELL_H, THUMB, MARGIN, COLUMNS = 300, 380, 280, 24, 4


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:
        return ImageFont.load_default()


def contact_sheet_render(*, review_round: ReviewRound, image_format: str, for_client: bool = False) -> bytes:
    if image_format not in ("PNG", "PDF"):
        raise ValueError("contact sheets are PNG or PDF")
    items = list(review_round.items.select_related("version").order_by("position", "id"))
    decisions = defaultdict(list)
    for decision in current_decisions(review_round=review_round, for_client=for_client):
        decisions[decision.version_id].append(decision.verdict)
    results = round_results(review_round=review_round)
    stars = dict(Rating.objects.filter(version__in=[i.version for i in items]).values_list("version")
                 .annotate(avg=Avg("stars")).values_list("version", "avg"))
    rows = max(1, -(-len(items) // COLUMNS))
    header = 70
    sheet = Image.new("RGB", (MARGIN * 2 + CELL_W * COLUMNS, header + MARGIN + rows * CELL_H), "white")
    draw = ImageDraw.Draw(sheet)
    brief = review_round.brief
    draw.text((MARGIN, 18), f"{brief.title} · round {review_round.number} ({review_round.get_stage_display()})",
              fill="black", font=_font(22))
    draw.text((MARGIN, 46), f"{review_round.get_status_display()} · {len(items)} version(s)", fill="#555", font=_font(14))
    for index, item in enumerate(items):
        version = item.version
        x = MARGIN + (index % COLUMNS) * CELL_W
        y = header + (index // COLUMNS) * CELL_H
        with blob_open(blob=version.blob) as handle, Image.open(handle) as image:
            thumb = ImageOps.contain(ImageOps.exif_transpose(image).convert("RGB"), (THUMB, THUMB))
        sheet.paste(thumb, (x + (THUMB - thumb.width) // 2, y))
        name = item.client_name if for_client and item.client_name else f"v{version.pk}"
        rating = stars.get(version.pk)
        star_text = "no stars" if rating is None else f"{rating:.1f} / 5 stars"
        counts = Counter(decisions[version.pk])
        summary = ", ".join(f"{verdict.replace('_', ' ')} {n}" for verdict, n in sorted(counts.items())) or "no decisions"
        draw.text((x, y + THUMB + 8), f"{name} · {version.width}×{version.height}", fill="black", font=_font(15))
        draw.text((x, y + THUMB + 28), f"{star_text} · {result_label(results.get(version.pk))}",
                  fill="#333", font=_font(13))
        draw.text((x, y + THUMB + 46), summary[:48], fill="#333", font=_font(13))
    buffer = io.BytesIO()
    sheet.save(buffer, format=image_format, **({"resolution": 150.0} if image_format == "PDF" else {}))
    return buffer.getvalue()
