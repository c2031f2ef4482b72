"""What the review workspace shows of a round, gathered once for the page (the notes come from the API)."""

from __future__ import annotations

from django.urls import reverse

from assets.models import Version
from review.models import Rating, ReviewRound
from review.selectors import current_decisions, previous_counterparts, result_label, round_results


def workspace_data(*, review_round: ReviewRound, user, for_client: bool) -> dict:
    """Versions with their preview, full-resolution and previous-round counterpart, the user's own stars, the
    round's result per version and the API addresses the page calls (the recipe diff comes from the API when a
    version is shown). A constant number of queries, whatever the number of versions."""
    items = list(review_round.items.select_related("version__blob").order_by("position", "id"))
    stars = dict(Rating.objects.filter(reviewer=user, version__in=[i.version_id for i in items])
                 .values_list("version_id", "stars"))
    results = round_results(review_round=review_round)
    counterparts = previous_counterparts(review_round=review_round)
    decided = {d.version_id: d.get_verdict_display() for d in current_decisions(review_round=review_round)
               if d.reviewer_id == user.pk}
    versions = []
    for item in items:
        version = item.version
        before = counterparts.get(version.pk)
        before = before if before is not None and before.pk != version.pk else None
        versions.append({
            "id": version.pk, "label": item.client_name or version.label or f"v{version.pk}", "sha256": version.blob_id,
            "width": version.width, "height": version.height, "preview": _thumb(version), "full": _full(version),
            "stars": stars.get(version.pk, 0), "triage": version.triage, "result": result_label(results.get(version.pk)),
            "mine": decided.get(version.pk, ""),
            "before": {"id": before.pk, "label": f"v{before.pk}", "preview": _thumb(before), "full": _full(before),
                       "width": before.width, "height": before.height} if before else None,
            "diff": None if for_client or before is None else reverse("version-diff", args=[before.pk, version.pk]),
        })
    return {
        "round": {"id": review_round.pk, "number": review_round.number, "stage": review_round.stage,
                  "status": review_round.status, "brief": review_round.brief.title},
        "versions": versions, "for_client": for_client,
        "api": {"notes": reverse("reviewround-notes", args=[review_round.pk]),
                "decisions": reverse("reviewround-decisions", args=[review_round.pk]),
                "triage": reverse("version-triage"), "note": "/api/notes/", "versions": "/api/versions/"},
    }


def _thumb(version: Version) -> str:
    return reverse("blob-thumbnail", args=[version.blob_id, 768])


def _full(version: Version) -> str:
    return reverse("blob-image", args=[version.blob_id])
