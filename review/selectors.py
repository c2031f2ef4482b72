from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.db.models import QuerySet, Sum
from django.utils import timezone

from assets.access import is_client_user, scoped
from assets.models import Brief, Derivation, Phase, Version
from assets.selectors import lineage_graph, version_ancestry
from review.models import Approval, Decision, ReviewRound

Verdict = Decision.Verdict
UNDECIDED = "undecided"


def version_final_approval(*, version: Version) -> Approval | None:
    """The one approved state: a final (client-stage) approval of the version's current bytes."""
    return Approval.objects.filter(version=version, final=True, sha256=version.blob_id).first()


def rounds_visible_to(*, user) -> QuerySet[ReviewRound]:
    """Client users see client-stage rounds of their own clients only."""
    rounds = scoped(ReviewRound.objects.select_related("brief__campaign__client"), user=user,
                    client_path="brief__campaign__client")
    if is_client_user(user=user):
        rounds = rounds.filter(stage=ReviewRound.Stage.CLIENT)
    return rounds


def current_decisions(*, review_round: ReviewRound, for_client: bool = False) -> list[Decision]:
    """The newest decision of each reviewer (or share-link guest) on each version of the round."""
    decisions = (
        Decision.objects.filter(review_round=review_round)
        .order_by("version_id", "reviewer_id", "share_link_id", "guest_name", "-id")
        .distinct("version_id", "reviewer_id", "share_link_id", "guest_name")
        .select_related("reviewer")
        .prefetch_related("pins")
    )
    if for_client:
        decisions = decisions.filter(internal=False)
    return sorted(decisions, key=lambda decision: decision.pk)


RESULT_LABELS = {Verdict.APPROVE: "approved", Verdict.CHANGES_REQUESTED: "changes requested", Verdict.REJECT: "rejected",
                 UNDECIDED: "undecided"}


def result_label(result: str | None) -> str:
    return RESULT_LABELS.get(result, "undecided")


def rollup(verdicts: list[str]) -> str:
    """A fixed rule, as in the review trackers studios use: any reject, then any changes, then approve."""
    if not verdicts:
        return UNDECIDED
    if Verdict.REJECT in verdicts:
        return Verdict.REJECT
    if Verdict.CHANGES_REQUESTED in verdicts:
        return Verdict.CHANGES_REQUESTED
    return Verdict.APPROVE


def round_results(*, review_round: ReviewRound) -> dict[int, str]:
    verdicts = defaultdict(list)
    for decision in current_decisions(review_round=review_round):
        verdicts[decision.version_id].append(decision.verdict)
    return {item.version_id: rollup(verdicts[item.version_id]) for item in review_round.items.all()}


def maybe_later_pool(*, brief: Brief) -> QuerySet[Version]:
    """Versions parked as "maybe later" in the client's other briefs, ready to reuse as references."""
    return (
        Version.objects.filter(triage=Version.Triage.MAYBE_LATER, brief__campaign__client_id=brief.campaign.client_id)
        .exclude(brief=brief)
        .select_related("brief")
    )


def brief_cycle_stats(*, brief: Brief) -> dict:
    """Approval cycles of a brief: rounds, time in each, time waiting on the client, GPU-seconds per phase."""
    now = timezone.now()
    rounds = []
    waiting_on_client = timedelta()
    for review_round in brief.review_rounds.order_by("number"):
        duration = (review_round.closed_at or now) - review_round.opened_at
        if review_round.stage == ReviewRound.Stage.CLIENT:
            waiting_on_client += duration
        rounds.append({"number": review_round.number, "stage": review_round.stage, "status": review_round.status,
                       "hours": round(duration.total_seconds() / 3600, 2)})
    spent = {phase: (wall, gpu) for phase, wall, gpu in Derivation.objects.filter(brief=brief).values_list("phase")
             .annotate(wall=Sum("wall_seconds"), gpu=Sum("gpu_seconds")).values_list("phase", "wall", "gpu")}
    return {
        "cycles": len(rounds),
        "rounds": rounds,
        "hours_waiting_on_client": round(waiting_on_client.total_seconds() / 3600, 2),
        "gpu_seconds_by_phase": {phase: round(spent.get(phase, (0, 0))[1] or 0.0, 3) for phase in Phase.values},
        "wall_seconds_by_phase": {phase: round(spent.get(phase, (0, 0))[0] or 0.0, 3) for phase in Phase.values},
    }


def version_recipe(*, version: Version) -> dict:
    """What made a version, flattened from its lineage: prompt, seed, models, LoRAs, parameters, edits."""
    graph = lineage_graph(version=version)
    chain = []
    current = version.pk
    while current in graph.made_by:
        derivation = graph.derivations[graph.made_by[current].derivation_id]
        chain.append(derivation)
        parents = [e.version_id for e in graph.inputs.get(derivation.pk, []) if e.version_id]
        current = parents[0] if parents else None
    chain.reverse()
    recipe = {"operations": [d.op for d in chain], "params": {}, "prompt": None, "negative_prompt": None,
              "base_model": None, "loras": [], "references": []}
    for derivation in chain:
        recipe["params"].update({f"{derivation.op}.{key}": value for key, value in derivation.params.items()})
        for edge in graph.inputs.get(derivation.pk, []):
            if edge.prompt_id:
                recipe["prompt"], recipe["negative_prompt"] = edge.prompt.text, edge.prompt.negative_text
            elif edge.model_weights_id and edge.role == "base_model":
                recipe["base_model"] = f"{edge.model_weights.name} ({edge.model_weights.sha256[:10]})"
            elif edge.model_weights_id and edge.role == "lora":
                recipe["loras"].append(f"{edge.model_weights.name} ({edge.model_weights.sha256[:10]}) ×{edge.weight:g}")
            elif edge.reference_id:
                recipe["references"].append(edge.reference.title or f"reference {edge.reference_id}")
    recipe["seed"] = version.seed
    recipe["size"] = f"{version.width}×{version.height}"
    return recipe


def recipe_diff(*, before: Version, after: Version) -> list[dict]:
    """Every recipe field that differs between two versions, as {field, before, after}."""
    a, b = version_recipe(version=before), version_recipe(version=after)
    rows = []
    for field in ("prompt", "negative_prompt", "seed", "size", "base_model", "loras", "references", "operations"):
        if a[field] != b[field]:
            rows.append({"field": field, "before": a[field], "after": b[field]})
    for key in sorted(set(a["params"]) | set(b["params"])):
        if a["params"].get(key) != b["params"].get(key):
            rows.append({"field": key, "before": a["params"].get(key), "after": b["params"].get(key)})
    return rows


def previous_counterpart(*, review_round: ReviewRound, version: Version) -> Version | None:
    """The version this one replaces from the previous round: an ancestor there, else the same slot."""
    if review_round.previous_id is None:
        return None
    previous_items = list(review_round.previous.items.select_related("version"))
    if not previous_items:
        return None
    previous_ids = {item.version_id for item in previous_items}
    if version.pk in previous_ids:
        return version
    ancestor = version_ancestry(version=version).filter(pk__in=previous_ids).order_by("-pk").first()
    if ancestor is not None:
        return ancestor
    position = review_round.items.get(version=version).position
    same_slot = [item.version for item in previous_items if item.position == position]
    return same_slot[0] if same_slot else None
