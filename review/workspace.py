"""What the review workspace shows of a round, gathered once for the page (the notes come from the API).

Staff open it in the admin; guests open the same page behind their share link, where every address the page
calls is scoped by the link's token and compare offers only what the client was shown in an earlier client round.
"""

from __future__ import annotations

from django.urls import reverse

from assets.models import Version
from review.models import Rating, ReviewRound, ShareLink
from review.selectors import current_decisions, previous_counterparts, result_label, round_results

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
    items = list(review_round.items.select_related("version__blob").order_by("position", "id"))
    stars = (
        {}
        if guest
        else dict(
            Rating.objects.filter(reviewer=user, version__in=[i.version_id for i in items]).values_list(
                "version_id", "stars"
            )
        )
    )
    results = round_results(review_round=review_round, for_client=for_client)
    # A client user is shown what a guest of the round is: a "before" only from a round the client was shown.
    counterparts = (
        guest_counterparts(review_round=review_round)
        if for_client
        else previous_counterparts(review_round=review_round)
    )
    mine = (lambda d: d.share_link_id == share_link.pk) if guest else (lambda d: d.reviewer_id == user.pk)
    decided = {
        d.version_id: d.get_verdict_display()
        for d in current_decisions(review_round=review_round, for_client=for_client)
        if mine(d)
    }
    thumb, full = _share_urls(token) if guest else (_thumb, _full)
    versions = []
    for item in items:
        version = item.version
        before = counterparts.get(version.pk)
        before = before if before is not None and before.pk != version.pk else None
        versions.append(
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
                # Triage is the studio's curation: staff only.
                **({} if for_client else {"triage": version.triage}),
                "before": {
                    "id": before.pk,
                    "label": "previous round" if guest else f"v{before.pk}",
                    "preview": thumb(before),
                    "full": full(before),
                    "width": before.width,
                    "height": before.height,
                }
                if before
                else None,
            }
        )
    # Anything else to compare with: the brief's recent versions for staff, the round's own images for a guest.
    others = (
        [
            {
                "id": v["id"],
                "label": v["label"],
                "preview": v["preview"],
                "full": v["full"],
                "width": v["width"],
                "height": v["height"],
            }
            for v in versions
        ]
        if guest
        else [
            {
                "id": other.pk,
                "label": other.label or f"v{other.pk}",
                "preview": thumb(other),
                "full": full(other),
                "width": other.width,
                "height": other.height,
            }
            for other in Version.objects.filter(brief_id=review_round.brief_id)
            .only("pk", "label", "blob_id", "width", "height")
            .order_by("-pk")[:COMPARE_CHOICES]
        ]
    )
    if guest:
        api = {
            "notes": reverse("share-notes", args=[token]),
            "note": reverse("share-notes", args=[token]),
            "decisions": reverse("share-decisions", args=[token]),
            "versions": reverse("share-page", args=[token]) + "versions/",
        }
    else:
        api = {
            "notes": reverse("reviewround-notes", args=[review_round.pk]),
            "note": "/api/notes/",
            "decisions": reverse("reviewround-decisions", args=[review_round.pk]),
            "triage": reverse("version-triage"),
            "versions": "/api/versions/",
        }
    return {
        "round": {
            "id": review_round.pk,
            "number": review_round.number,
            "stage": review_round.stage,
            "status": review_round.status,
            "brief": review_round.brief.title,
        },
        "versions": versions,
        "others": others,
        "for_client": for_client,
        "guest": guest,
        "api": api,
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
