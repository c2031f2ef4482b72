"""Versions as reviewers compare them: their recipes, what changed, their counterparts in the previous round, and
those parked for reuse."""

from __future__ import annotations

from django.db.models import QuerySet

from assets.models import Brief, Version
from assets.recipes import recipe_build, recipe_fields_diff
from assets.selectors import ancestors_among, lineage_graph
from review.models import ReviewRound


def maybe_later_pool(*, brief: Brief) -> QuerySet[Version]:
    """Versions parked as "maybe later" in the client's other briefs, ready to reuse as references."""
    return (
        Version.objects.filter(triage=Version.Triage.MAYBE_LATER, brief__campaign__client_id=brief.campaign.client_id)
        .exclude(brief=brief)
        .select_related("brief")
    )


def version_recipe(*, version: Version) -> dict:
    """What made a version, laid out as fields from every step of its chain: prompt, seed, models, LoRAs,
    references, the operations and their parameters (the last step that records a prompt or a base model wins)."""
    graph = lineage_graph(version=version)
    chain = graph.chain()
    fields = {
        "prompt": None,
        "negative_prompt": None,
        "seed": version.seed,
        "size": f"{version.width}×{version.height}",
        "base_model": None,
        "loras": [],
        "references": [],
        "operations": [d.op for d in chain],
        "params": {},
    }
    for derivation in chain:
        recipe = recipe_build(derivation=derivation, edges=graph.inputs.get(derivation.pk, []))
        fields["params"].update({f"{derivation.op}.{key}": value for key, value in derivation.params.items()})
        if recipe.prompt is not None:
            fields["prompt"], fields["negative_prompt"] = recipe.prompt.text, recipe.prompt.negative_text
        if recipe.base is not None:
            fields["base_model"] = f"{recipe.base.name} ({recipe.base.sha256[:10]})"
        fields["loras"] += [f"{weights.name} ({weights.sha256[:10]}) ×{weight:g}" for weights, weight in recipe.loras]
        fields["references"] += [edge.reference.title or f"reference {edge.reference_id}" for edge in recipe.references]
    return fields


def recipe_diff(*, before: Version, after: Version) -> list[dict]:
    """Every recipe field that differs between two versions, as {field, before, after}."""
    return recipe_fields_diff(before=version_recipe(version=before), after=version_recipe(version=after))


def previous_counterparts(*, review_round: ReviewRound) -> dict[int, Version]:
    """For each version of the round, the one it replaces from the previous round: itself if it was there, else its
    nearest ancestor there, else the version in the same slot. A constant number of queries for the whole round."""
    if review_round.previous_id is None:
        return {}
    previous_items = list(review_round.previous.items.select_related("version__blob"))
    if not previous_items:
        return {}
    previous = {item.version_id: item.version for item in previous_items}
    by_slot = {item.position: item.version for item in previous_items}
    items = list(review_round.items.all())
    ancestors = ancestors_among(
        versions=[item.version_id for item in items if item.version_id not in previous], candidates=list(previous)
    )
    found = {}
    for item in items:
        if item.version_id in previous:
            found[item.version_id] = previous[item.version_id]
        elif ancestors.get(item.version_id):
            found[item.version_id] = previous[ancestors[item.version_id][0]]
        elif item.position in by_slot:
            found[item.version_id] = by_slot[item.position]
    return found
