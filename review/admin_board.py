"""A round's board in the admin: each version beside its counterpart of the previous round, with the decisions, open
notes and recipe changes the viewer may read."""

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from assets.admin import thumbnail
from review.selectors import (
    current_decisions,
    note_state,
    open_notes_by_version,
    previous_counterparts,
    recipe_diff,
    result_label,
    round_results,
)
from review.workspace import guest_counterparts


def _pinned_preview(version, decisions, size=768, display=420) -> str:
    pins = format_html_join(
        "",
        '<div title="{}: {}" style="position:absolute;left:{}%;top:{}%;width:{}%;height:{}%;'
        "min-width:8px;min-height:8px;"
        'border:2px solid #ff2c54;background:rgba(255,44,84,.15)"></div>',
        (
            (d.author_name, pin.note, pin.x * 100, pin.y * 100, pin.w * 100, pin.h * 100)
            for d in decisions
            if d.version_id == version.pk
            for pin in d.pins.all()
        ),
    )
    return format_html(
        '<div style="position:relative;display:inline-block">{}{}</div>',
        thumbnail(version.blob_id, size, display),
        pins,
    )


def _diff_table(rows) -> str:
    if not rows:
        return "same recipe"
    body = format_html_join(
        "", "<tr><th>{}</th><td>{}</td><td>{}</td></tr>", ((r["field"], r["before"], r["after"]) for r in rows)
    )
    return format_html("<table><tr><th>changed</th><th>before</th><th>after</th></tr>{}</table>", body)


def sign_off_desk_link(*, review_round) -> str:
    url = reverse("admin:review_roundversion_changelist") + f"?review_round__id__exact={review_round.pk}"
    return format_html('<a href="{}">open the sign-off desk</a>', url)


def _version_notes(*, version, decisions, open_notes) -> str:
    """The decisions on the version, then the notes still open on it (those carried over name their version)."""
    notes = format_html_join(
        "",
        "<li><b>{}</b>: {} {}</li>",
        ((d.author_name, d.get_verdict_display(), d.comment) for d in decisions if d.version_id == version.pk),
    )
    threads = format_html_join(
        "",
        "<li>{}{} — {}: {}</li>",
        (
            (
                "" if note.version_id == version.pk else f"from v{note.version_id} · ",
                note_state(note),
                note.author_name,
                note.text[:200],
            )
            for note in open_notes
        ),
    )
    if threads:
        notes = format_html("{}<li><i>open notes</i><ul>{}</ul></li>", notes, threads)
    return notes


def _board_row(*, item, review_round, previous, decisions, result, open_notes, lineage: bool) -> str:
    version = item.version
    replaced = previous and previous.pk != version.pk
    before = _pinned_preview(previous, [], 256, 220) if replaced else "—"
    diff = _diff_table(recipe_diff(before=previous, after=version)) if lineage and replaced else ""
    return format_html(
        "<tr><td>{}<br>v{} · {}</td><td>{}<br>{}</td><td><b>{}</b><ul>{}</ul>{}</td></tr>",
        _pinned_preview(version, decisions),
        version.pk,
        item.client_name or "",
        before,
        f"v{previous.pk} (round {review_round.previous.number})" if replaced else "",
        result_label(result),
        _version_notes(version=version, decisions=decisions, open_notes=open_notes),
        diff,
    )


def round_board(*, review_round, for_client: bool, lineage: bool) -> str:
    """lineage: whether the viewer may read how versions were made; without it the board leaves the recipe diffs
    out. A client user's board shows what a guest of the round is shown: client-visible decisions and notes, the
    result they add up to, and a "before" only from an earlier client round."""
    decisions = current_decisions(review_round=review_round, for_client=for_client)
    results = round_results(review_round=review_round, for_client=for_client)
    counterparts = (guest_counterparts if for_client else previous_counterparts)(review_round=review_round)
    open_notes = open_notes_by_version(review_round=review_round, for_client=for_client)
    rows = [
        _board_row(
            item=item,
            review_round=review_round,
            previous=counterparts.get(item.version.pk),
            decisions=decisions,
            result=results.get(item.version.pk),
            open_notes=open_notes.get(item.version.pk, []),
            lineage=lineage,
        )
        for item in review_round.items.select_related("version")
    ]
    sheet = reverse("reviewround-contact-sheet", args=[review_round.pk])
    return format_html(
        '<p>{} · contact sheet <a href="{}?as=png">PNG</a> / <a href="{}?as=pdf">PDF</a></p>'
        '<table class="seed-board"><tr><th>this round</th><th>previous round</th><th>decisions</th>'
        "</tr>{}</table>",
        sign_off_desk_link(review_round=review_round),
        sheet,
        sheet,
        mark_safe("".join(rows)),
    )
