"""A round's contact sheet: every version with its id, stars and decisions.

For a client user or a guest (for_client) it leaves the studio's curation out (stars, seed) and shows the result
and the decisions the client may read.

PDF: paginated (A4 or Letter, a chosen number of versions per page) with real, selectable text and the
images embedded at print resolution, but for versions a client may not download in full (a review stage that locks
them): those are embedded at preview size, as the client's review page shows them. PNG: one raster page, for a quick
look or a chat message.
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict

from django.db.models import Avg
from PIL import Image, ImageDraw, ImageOps

from assets.errors import ApplicationError
from assets.images import label_font
from assets.machine_check_selectors import machine_checks_of
from assets.services.blobs import blob_open
from assets.thumbnails import THUMBNAIL_SIZES
from review.models import Rating, ReviewRound
from review.selectors import current_decisions, open_notes_by_version, result_label, round_results

CELL_W, CELL_H, THUMB, MARGIN, COLUMNS = 300, 380, 280, 24, 4


PAPERS = {"A4": (210.0, 297.0), "Letter": (215.9, 279.4)}
PER_PAGE = (1, 2, 4, 6, 9, 12)
PRINT_DPI = 300
# What a client is shown of a version whose full resolution a review stage locks: the largest preview.
PREVIEW_SIDE = max(THUMBNAIL_SIZES)


def _facts(review_round: ReviewRound, for_client: bool) -> tuple[list, dict, dict, dict, dict]:
    items = list(review_round.items.select_related("version__blob").order_by("position", "id"))
    decisions = defaultdict(list)
    for decision in current_decisions(review_round=review_round, for_client=for_client):
        decisions[decision.version_id].append(decision.verdict)
    results = round_results(review_round=review_round, for_client=for_client)
    stars = (
        {}
        if for_client
        else dict(
            Rating.objects.filter(version__in=[i.version for i in items])
            .values_list("version")
            .annotate(avg=Avg("stars"))
            .values_list("version", "avg")
        )
    )
    open_notes = {
        version_id: len(notes)
        for version_id, notes in open_notes_by_version(review_round=review_round, for_client=for_client).items()
    }
    return items, decisions, results, stars, open_notes


def contact_sheet_pdf(
    *,
    review_round: ReviewRound,
    for_client: bool = False,
    paper: str = "A4",
    per_page: int = 6,
    previews_only: frozenset[int] = frozenset(),
) -> bytes:
    """Pages of `per_page` versions: the image at print resolution above its label, seed, stars, result,
    decisions and open notes, all as text a reader can select and search."""
    from fpdf import FPDF

    if paper not in PAPERS:
        raise ApplicationError(f"paper must be one of {', '.join(PAPERS)}")
    if per_page not in PER_PAGE:
        raise ApplicationError(f"versions per page must be one of {', '.join(map(str, PER_PAGE))}")
    items, decisions, results, stars, open_notes = _facts(review_round, for_client)
    checks = {} if for_client else machine_checks_of(version_ids=[item.version_id for item in items])
    width, height = PAPERS[paper]
    columns = {1: 1, 2: 1, 4: 2, 6: 2, 9: 3, 12: 3}[per_page]
    rows = -(-per_page // columns)
    margin, header, caption = 12.0, 16.0, 16.0 if for_client else 20.5
    cell_w = (width - 2 * margin) / columns
    cell_h = (height - 2 * margin - header) / rows
    pdf = FPDF(unit="mm", format=(width, height))
    pdf.set_auto_page_break(False)
    brief = review_round.brief
    title = _latin(f"{brief.title} · round {review_round.number} ({review_round.get_stage_display()})")
    pages = max(1, -(-len(items) // per_page))
    for page in range(pages):
        status = f"{review_round.get_status_display()} · {len(items)} version(s) · page {page + 1} of {pages}"
        _pdf_page_header(pdf, title=title, status=_latin(status), margin=margin)
        for slot, item in enumerate(items[page * per_page : (page + 1) * per_page]):
            version = item.version
            x = margin + (slot % columns) * cell_w
            y = margin + header + (slot // columns) * cell_h
            box_w, box_h = cell_w - 4, cell_h - caption - 4
            limit = PREVIEW_SIDE if version.pk in previews_only else None
            _pdf_image(pdf, version=version, x=x, y=y, box_w=box_w, box_h=box_h, limit=limit)
            lines = _caption_lines(
                item=item,
                for_client=for_client,
                verdicts=decisions[version.pk],
                result=results.get(version.pk),
                rating=stars.get(version.pk),
                open_notes=open_notes.get(version.pk, 0),
            )
            if not for_client:
                lines.append(checks_line(checks.get(version.pk, [])))
            pdf.set_font("Helvetica", "", 8)
            for row, line in enumerate(lines):
                pdf.set_xy(x, y + box_h + 1 + row * 4.2)
                pdf.cell(box_w, 4, _latin(line)[:90])
    return bytes(pdf.output())


def _pdf_page_header(pdf, *, title: str, status: str, margin: float) -> None:
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 13)
    pdf.set_xy(margin, margin)
    pdf.cell(0, 7, title)
    pdf.set_font("Helvetica", "", 9)
    pdf.set_xy(margin, margin + 7)
    pdf.cell(0, 5, status)


def _pdf_image(pdf, *, version, x: float, y: float, box_w: float, box_h: float, limit: int | None) -> None:
    """The image fitted into its box and centred, downscaled to print resolution where it holds more pixels, and to
    `limit` pixels a side where one is given."""
    with blob_open(blob=version.blob) as handle, Image.open(handle) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    scale = min(box_w / image.width, box_h / image.height)
    shown_w, shown_h = image.width * scale, image.height * scale
    pixels = (max(1, round(shown_w / 25.4 * PRINT_DPI)), max(1, round(shown_h / 25.4 * PRINT_DPI)))
    if pixels[0] < image.width:
        image = image.resize(pixels, Image.Resampling.LANCZOS)
    if limit is not None and max(image.size) > limit:
        image = ImageOps.contain(image, (limit, limit), Image.Resampling.LANCZOS)
    pdf.image(image, x=x + (box_w - shown_w) / 2, y=y, w=shown_w, h=shown_h)


def _caption_lines(
    *, item, for_client: bool, verdicts: list[str], result: str | None, rating: float | None, open_notes: int
) -> list[str]:
    version = item.version
    name = item.client_name if for_client and item.client_name else f"v{version.pk}"
    counts = Counter(verdicts)
    summary = ", ".join(f"{verdict.replace('_', ' ')} {n}" for verdict, n in sorted(counts.items())) or "no decisions"
    seed = "" if for_client else f" · seed {version.seed if version.seed is not None else '-'}"
    star_text = "" if for_client else f"{'no stars' if rating is None else f'{rating:.1f}/5 stars'} · "
    return [
        f"{name}{seed} · {version.width}×{version.height}",
        f"{star_text}{result_label(result)} · {open_notes} open note(s)",
        summary,
    ]


def checks_line(checks: list) -> str:
    """The machine-read checks in one line: what fails or wants a look by name, the passes counted. A reviewer's
    overrule counts as the verdict, marked with *."""
    if not checks:
        return "checks: not measured"
    named = {"fails": [], "look": [], "unmeasured": []}
    passed = 0
    for check in checks:
        name = f"copy '{check.key[5:]}'" if check.kind == "copy" else check.kind.replace("_", " ")
        name += "*" if check.overruled_verdict else ""
        if check.final_verdict == "pass":
            passed += 1
        else:
            named[{"fail": "fails", "warn": "look"}.get(check.final_verdict, "unmeasured")].append(name)
    parts = [f"{label}: {', '.join(names)}" for label, names in named.items() if names]
    return "checks: " + " · ".join([*parts, f"{passed} pass"])


def _latin(text: str) -> str:
    """The PDF's core fonts speak Latin-1; other characters show as '?' rather than break the sheet."""
    return text.encode("latin-1", "replace").decode("latin-1")


def contact_sheet_render(*, review_round: ReviewRound, image_format: str, for_client: bool = False) -> bytes:
    if image_format == "PDF":
        return contact_sheet_pdf(review_round=review_round, for_client=for_client)
    if image_format != "PNG":
        raise ValueError("contact sheets are PNG or PDF")
    items, decisions, results, stars, _ = _facts(review_round, for_client)
    checks = {} if for_client else machine_checks_of(version_ids=[item.version_id for item in items])
    rows = max(1, -(-len(items) // COLUMNS))
    header = 70
    sheet = Image.new("RGB", (MARGIN * 2 + CELL_W * COLUMNS, header + MARGIN + rows * CELL_H), "white")
    draw = ImageDraw.Draw(sheet)
    brief = review_round.brief
    draw.text(
        (MARGIN, 18),
        f"{brief.title} · round {review_round.number} ({review_round.get_stage_display()})",
        fill="black",
        font=label_font(22),
    )
    draw.text(
        (MARGIN, 46), f"{review_round.get_status_display()} · {len(items)} version(s)", fill="#555", font=label_font(14)
    )
    for index, item in enumerate(items):
        version = item.version
        x = MARGIN + (index % COLUMNS) * CELL_W
        y = header + (index // COLUMNS) * CELL_H
        with blob_open(blob=version.blob) as handle, Image.open(handle) as image:
            thumb = ImageOps.contain(ImageOps.exif_transpose(image).convert("RGB"), (THUMB, THUMB))
        sheet.paste(thumb, (x + (THUMB - thumb.width) // 2, y))
        name = item.client_name if for_client and item.client_name else f"v{version.pk}"
        rating = stars.get(version.pk)
        star_text = "" if for_client else ("no stars · " if rating is None else f"{rating:.1f} / 5 stars · ")
        counts = Counter(decisions[version.pk])
        summary = (
            ", ".join(f"{verdict.replace('_', ' ')} {n}" for verdict, n in sorted(counts.items())) or "no decisions"
        )
        draw.text((x, y + THUMB + 8), f"{name} · {version.width}×{version.height}", fill="black", font=label_font(15))
        draw.text(
            (x, y + THUMB + 28), f"{star_text}{result_label(results.get(version.pk))}", fill="#333", font=label_font(13)
        )
        draw.text((x, y + THUMB + 46), summary[:48], fill="#333", font=label_font(13))
        if not for_client:
            line = checks_line(checks.get(version.pk, []))[:52]
            draw.text((x, y + THUMB + 64), line, fill="#333", font=label_font(12))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue()
