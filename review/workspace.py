"""What the review workspace shows of a round, gathered once for the page (the notes come from the API).

Staff open it in the admin; guests open the same page behind their share link, where every address the page
calls is scoped by the link's token and compare offers only what the client was shown in an earlier client round.
"""

from __future__ import annotations

from django.urls import reverse

from assets import hooks
from assets.models import Version
from review.models import Rating, ReviewRound, ShareLink
from review.selectors import (
    blobs_locked_for,
    current_decisions,
    previous_counterparts,
    result_label,
    round_downloads_allowed,
    round_results,
)
from review.workspace_checks import checks_panel

COMPARE_CHOICES = 200


def workspace_data(
    *, review_round: ReviewRound, user=None, for_client: bool, share_link: ShareLink | None = None, token: str = ""
) -> dict:
    """Versions with their preview, full-resolution and previous-round counterpart, the user's own stars (and for staff
    the triage), the round's result per version as the viewer may see it (for_client: client users and guests), what
    else it may be compared with, and the addresses the page calls (the recipe diff comes from the API when a version
    is shown). A constant number of queries, whatever the number of versions."""
    guest = share_link is not None
    for_client = for_client or guest
    thumb, full = _share_urls(token) if guest else (_thumb, _full)
    downloads = round_downloads_allowed(review_round=review_round)
    if for_client:
        full = _client_full(review_round=review_round, user=user, downloads=downloads, thumb=thumb, full=full)
    versions = _version_rows(
        review_round=review_round, user=user, share_link=share_link, for_client=for_client, thumb=thumb, full=full
    )
    return {
        "round": {
            "id": review_round.pk,
            "number": review_round.number,
            "stage": review_round.stage,
            "status": review_round.status,
            "brief": review_round.brief.title,
            "stage_name": review_round.review_stage.name if review_round.review_stage_id else "",
            "downloads": downloads,
        },
        "versions": versions,
        "others": _compare_choices(review_round=review_round, versions=versions, guest=guest, thumb=thumb, full=full),
        "for_client": for_client,
        "guest": guest,
        "api": _share_api(token=token) if guest else _staff_api(review_round=review_round),
        # The machine-read checks and the checklist are the studio's: never in a client's or a guest's page.
        "checks": None
        if for_client
        else checks_panel(review_round=review_round, user=user, version_ids=[v["id"] for v in versions]),
    }


def _client_full(*, review_round: ReviewRound, user, downloads: bool, thumb, full):
    """What a client's zoom and loupe read: the preview where a stage locks full-resolution files (this round's, or
    for a signed-in client another open round's holding the same image), the full file elsewhere. The studio's
    reviewers always zoom into the full file: the lock is the client's."""
    if not downloads:
        return thumb
    if user is None:
        return full
    locked = blobs_locked_for(user=user, blob_ids=review_round.versions.values_list("blob_id", flat=True))
    return lambda version: thumb(version) if version.blob_id in locked else full(version)


def _version_rows(
    *, review_round: ReviewRound, user, share_link: ShareLink | None, for_client: bool, thumb, full
) -> list[dict]:
    guest = share_link is not None
    items = list(review_round.items.select_related("version__blob").order_by("position", "id"))
    stars = {} if guest else _own_stars(user=user, version_ids=[item.version_id for item in items])
    results = round_results(review_round=review_round, for_client=for_client)
    # A client user is shown what a guest of the round is: a "before" only from a round the client was shown.
    counterparts = (guest_counterparts if for_client else previous_counterparts)(review_round=review_round)
    decided = _own_verdicts(review_round=review_round, user=user, share_link=share_link, for_client=for_client)
    rows = []
    for item in items:
        version = item.version
        previous, before = counterparts.get(version.pk), None
        if previous is not None and previous.pk != version.pk:
            before = _picture(previous, label="previous round" if guest else f"v{previous.pk}", thumb=thumb, full=full)
        rows.append(
            {
                "id": version.pk,
                "label": item.client_name or version.label or f"v{version.pk}",
                "sha256": version.blob_id,
                "width": version.width,
                "height": version.height,
                "preview": thumb(version),
                "full": full(version),
                "stars": stars.get(version.pk, 0),
                "result": result_label(results.get(version.pk)),
                "mine": decided.get(version.pk, ""),
                # Triage is the studio's curation, and the pages apps above add about a version are studio pages.
                **({} if for_client else {"triage": version.triage, "views": _version_views(version)}),
                "before": before,
            }
        )
    return rows


def _version_views(version: Version) -> list[dict]:
    """Links to the pages registered in assets.hooks.version_views (delivery's soft proof and slots)."""
    return [{"label": label, "url": url(version)} for _, label, url in hooks.version_views]


def _own_stars(*, user, version_ids: list[int]) -> dict[int, int]:
    return dict(Rating.objects.filter(reviewer=user, version__in=version_ids).values_list("version_id", "stars"))


def _own_verdicts(*, review_round: ReviewRound, user, share_link: ShareLink | None, for_client: bool) -> dict[int, str]:
    """The viewer's own current verdict on each version: a guest's are those made through their link."""
    mine = (
        (lambda d: d.share_link_id == share_link.pk) if share_link is not None else (lambda d: d.reviewer_id == user.pk)
    )
    return {
        d.version_id: d.get_verdict_display()
        for d in current_decisions(review_round=review_round, for_client=for_client)
        if mine(d)
    }


def _picture(version: Version, *, label: str, thumb, full) -> dict:
    return {
        "id": version.pk,
        "label": label,
        "preview": thumb(version),
        "full": full(version),
        "width": version.width,
        "height": version.height,
    }


def _compare_choices(*, review_round: ReviewRound, versions: list[dict], guest: bool, thumb, full) -> list[dict]:
    """Anything else to compare with: the brief's recent versions for staff, the round's own images for a guest."""
    if guest:
        return [{key: v[key] for key in ("id", "label", "preview", "full", "width", "height")} for v in versions]
    recent = (
        Version.objects.filter(brief_id=review_round.brief_id)
        .only("pk", "label", "blob_id", "width", "height")
        .order_by("-pk")[:COMPARE_CHOICES]
    )
    return [_picture(other, label=other.label or f"v{other.pk}", thumb=thumb, full=full) for other in recent]


def _share_api(*, token: str) -> dict:
    return {
        "notes": reverse("share-notes", args=[token]),
        "note": reverse("share-notes", args=[token]),
        "decisions": reverse("share-decisions", args=[token]),
        "versions": reverse("share-page", args=[token]) + "versions/",
    }


def _staff_api(*, review_round: ReviewRound) -> dict:
    return {
        "notes": reverse("reviewround-notes", args=[review_round.pk]),
        "note": "/api/notes/",
        "decisions": reverse("reviewround-decisions", args=[review_round.pk]),
        "triage": reverse("version-triage"),
        "versions": "/api/versions/",
    }


def guest_counterparts(*, review_round: ReviewRound) -> dict[int, Version]:
    """Counterparts a guest may see: only from a previous round the client was shown (a client-stage round)."""
    previous = review_round.previous
    if previous is None or previous.stage != ReviewRound.Stage.CLIENT:
        return {}
    return previous_counterparts(review_round=review_round)


def _share_urls(token: str):
    return (
        lambda version: reverse("share-image", args=[token, version.pk]),
        lambda version: reverse("share-full-image", args=[token, version.pk]),
    )


def _thumb(version: Version) -> str:
    return reverse("blob-thumbnail", args=[version.blob_id, 768])


def _full(version: Version) -> str:
    return reverse("blob-image", args=[version.blob_id])
