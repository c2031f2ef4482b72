"""What a delivered file says about its master: the EXIF/XMP stamp, the lineage summary, C2PA actions and ingredients.

Read from the lineage graph alone, so a re-delivery of the same master says the same things. Everything here reaches
the client, so a prompt that repeats a review note the client does not read is withheld (`prompts_withheld`).
"""

from __future__ import annotations

import copy
import dataclasses
import json

from assets.access import client_facing
from assets.images import MEDIA_TYPES
from assets.models import Derivation, Used, Version
from assets.operations import IPTC, TRAINED, operation_find, operation_names
from assets.recipes import recipe_of
from assets.selectors import LineageGraph
from assets.services.blobs import blob_open
from delivery import signing
from delivery.models import ChannelPreset

FULL = ChannelPreset.RecipeExposure.FULL


def model_factor(chain: list[Derivation]) -> int | None:
    factor = 1
    for derivation in chain:
        if derivation.op == "upscale":
            factor *= derivation.params.get("scale", 1)
    return factor if factor > 1 else None


def seed_of(version: Version, graph: LineageGraph) -> int | None:
    if version.seed is not None:
        return version.seed
    return next((v.seed for v in graph.versions.values() if v.seed is not None), None)


PROMPT_WITHHELD = "(prompt withheld: it repeats a studio-internal review note)"
PROMPT_KEPT_IN = "(prompt kept in: a channel of this delivery does not let the recipe out)"


def prompts_withheld(*, graph: LineageGraph) -> set[int]:
    """Prompts of the lineage that repeat the words of a review note the client does not read (an internal note, or
    any note of an internal round).

    "Fix this region" once made the note its inpaint's prompt; the note is the one named by the change request that
    the fix recorded as used, so only the prompts of those fixes are compared with it.
    """
    from review.models import Note

    asked: dict[int, list[int]] = {}
    for edge in graph.used:
        if edge.role == Used.Role.CHANGE_REQUEST:
            with blob_open(blob=edge.blob) as handle:
                note_id = json.loads(handle.read()).get("note")
            if isinstance(note_id, int):
                asked.setdefault(note_id, []).append(edge.derivation_id)
    if not asked:
        return set()
    notes = Note.objects.filter(pk__in=asked)
    hidden = notes.exclude(pk__in=client_facing(notes).values("pk"))
    withheld = set()
    for note_id, text in hidden.values_list("pk", "text"):
        words = " ".join(text.split())
        for derivation_id in asked[note_id]:
            withheld.update(
                edge.prompt_id
                for edge in graph.inputs.get(derivation_id, [])
                if edge.prompt_id and words and words in " ".join(edge.prompt.text.split())
            )
    return withheld


def generation_recipe(chain: list[Derivation], *, withheld: set[int] = frozenset()):
    """The recipe of the chain's last generation, its prompt's text withheld when it is among `withheld`."""
    last = next((d for d in reversed(chain) if d.op in operation_names(rerun="pipeline")), None)
    if last is None:
        return None
    recipe = recipe_of(derivation=last)
    if recipe.prompt.pk not in withheld:
        return recipe
    prompt = copy.copy(recipe.prompt)
    prompt.text = PROMPT_WITHHELD
    derivation = copy.copy(recipe.derivation)
    derivation.params = _params_shared(recipe.params, withheld_step=True)
    return dataclasses.replace(recipe, prompt=prompt, derivation=derivation)


# Parameters that hold prompt text under another name: the text the encoders read, and a LoRA training's captions (by
# default the prompts of the images it learned from) and sample prompt.
PROMPT_PARAMS = ("prompt_read", "captions", "sample_prompt")


def _params_shared(params: dict, *, withheld_step: bool) -> dict:
    """A step's parameters as shared outside Seed: a withheld prompt's text is also in these."""
    return {key: value for key, value in params.items() if not (withheld_step and key in PROMPT_PARAMS)}


def prompts_of(graph: LineageGraph) -> set[int]:
    return {edge.prompt_id for edges in graph.inputs.values() for edge in edges if edge.prompt_id}


def _withheld_steps(graph: LineageGraph, withheld: set[int], *, every_text: bool = False) -> set[int]:
    """The steps whose parameters say a `withheld` prompt: those that used one, and those whose written text (a
    training's captions) repeats one; with `every_text`, every step with written text in its parameters."""
    steps = {step for step, edges in graph.inputs.items() if any(edge.prompt_id in withheld for edge in edges)}
    texts = {" ".join(edge.prompt.text.split()) for edge in graph.used if edge.prompt_id in withheld} - {""}
    for pk, derivation in graph.derivations.items():
        written = [derivation.params.get("sample_prompt"), *(derivation.params.get("captions") or [])]
        written = [" ".join(text.split()) for text in written if isinstance(text, str) and text.strip()]
        if any(every_text or any(said in text for said in texts) for text in written):
            steps.add(pk)
    return steps


def recipe_lines(recipe, *, exposure: str = FULL) -> list[str]:
    """The recipe in words, for a presentation slate: as much of it as the channel lets out."""
    if recipe is None:
        return ["Imported master: no generation recipe in the lineage"]
    if exposure == ChannelPreset.RecipeExposure.NONE:
        return ["Recipe not shown on this channel"]
    params = recipe.params
    if exposure == ChannelPreset.RecipeExposure.MODEL_AND_SEED:
        return [f"Seed {params['seed']} · base model {recipe.base.name} ({recipe.base.sha256[:10]})"]
    lines = [f"Prompt: {recipe.prompt.text}"]
    if recipe.prompt.negative_text:
        lines.append(f"Negative: {recipe.prompt.negative_text}")
    lines.append(
        f"{recipe.op} · seed {params['seed']} · {params['sampler']} · {params['steps']} steps · CFG {params['cfg']:g}"
        + (f" · distilled CFG {params['distilled_cfg']:g}" if "distilled_cfg" in params else "")
    )
    lines.append(f"Base model: {recipe.base.name} ({recipe.base.sha256[:10]})")
    lines += [f"LoRA: {weights.name} ({weights.sha256[:10]}) @ {weight:g}" for weights, weight in recipe.loras]
    return lines


def _edge_ref(edge: Used, withheld: set[int]) -> dict:
    target = edge.target
    ref = {"role": edge.role}
    if edge.version_id:
        ref.update(version=edge.version_id, sha256=target.blob_id)
    elif edge.reference_id:
        ref.update(reference=edge.reference_id, sha256=target.blob_id)
    elif edge.prompt_id:
        ref.update(prompt=edge.prompt_id, text=PROMPT_WITHHELD if edge.prompt_id in withheld else target.text)
    elif edge.model_weights_id:
        ref.update(model=target.name, sha256=target.sha256)
    else:
        ref.update(sha256=edge.blob_id)
    if edge.weight is not None:
        ref["weight"] = edge.weight
    return ref


def lineage_summary(
    *,
    master: Version,
    graph: LineageGraph,
    chain: list[Derivation],
    approval,
    rights=(),
    withheld: set[int] = frozenset(),
) -> dict:
    """What the custom C2PA assertion and the bundle's report say about the master's ancestry, with the licences it
    inherits and the credits they ask for; the `withheld` prompts' texts are not among them."""
    outputs: dict[int, list[str]] = {}
    hidden = _withheld_steps(graph, withheld)
    for edge in graph.generated:
        outputs.setdefault(edge.derivation_id, []).append(graph.versions[edge.version_id].blob_id)
    return {
        "version_id": master.pk,
        "sha256": master.blob_id,
        "brief": {"id": master.brief_id, "title": master.brief.title},
        "client": master.brief.campaign.client.name,
        "approval": {
            "id": approval.pk,
            "round": approval.review_round_id,
            "sha256": approval.sha256,
            "at": approval.created_at.isoformat(),
        },
        "rights": [
            {
                "licence": item.licence.name,
                "spdx_id": item.licence.spdx_id,
                "commercial_use": item.licence.commercial_use,
                "expires_on": item.licence.expires_on.isoformat() if item.licence.expires_on else None,
            }
            for item in rights
        ],
        "attribution": [item.licence.attribution for item in rights if item.licence.attribution],
        "chain": [
            {
                "derivation": d.pk,
                "op": d.op,
                "phase": d.phase,
                "params": _params_shared(d.params, withheld_step=d.pk in hidden),
                "inputs": [_edge_ref(edge, withheld) for edge in graph.inputs.get(d.pk, [])],
                "outputs": outputs.get(d.pk, []),
            }
            for d in chain
        ],
    }


def lineage_graph_shared(
    *, graph: LineageGraph, withheld: set[int], placeholder: str = PROMPT_WITHHELD, every_text: bool = False
) -> dict:
    """The whole graph for the bundle's lineage.json, without the `withheld` prompts' texts and placeholder values
    (with `every_text`, without any step's written text: a training's captions)."""
    shared = graph.as_dict()
    hidden = _withheld_steps(graph, withheld, every_text=every_text)
    for node in shared["nodes"]:
        if node["type"] == "prompt" and node["pk"] in withheld:
            node.update(text=placeholder, negative_text="", values={})
        elif node["type"] == "derivation" and node["pk"] in hidden:
            node["params"] = _params_shared(node["params"], withheld_step=True)
    return shared


def bundle_lineage(*, summary: dict, graph: LineageGraph, withheld: set[int], presets) -> dict:
    """The bundle's lineage.json: `summary` and the whole graph. The client downloads the bundle beside the files, so
    where a channel of the delivery keeps the recipe in, no prompt's text is in it (the rest of the graph is, as the
    files' manifests carry it)."""
    if all(preset.recipe_exposure == FULL for preset in presets):
        return {"summary": summary, "graph": lineage_graph_shared(graph=graph, withheld=withheld)}
    kept_in = withheld | prompts_of(graph)
    hidden = _withheld_steps(graph, kept_in, every_text=True)
    chain = [
        {
            **step,
            "params": _params_shared(step["params"], withheld_step=step["derivation"] in hidden),
            "inputs": [
                {**ref, "text": PROMPT_KEPT_IN} if ref.get("prompt") in kept_in else ref for ref in step["inputs"]
            ],
        }
        for step in summary["chain"]
    ]
    shared = lineage_graph_shared(graph=graph, withheld=kept_in, placeholder=PROMPT_KEPT_IN, every_text=True)
    return {"summary": {**summary, "chain": chain}, "graph": shared}


def lineage_carried(summary: dict, *, exposure: str = FULL) -> dict:
    """What every delivered file's manifest says of the lineage: the summary with each step's kind, parameters and
    inputs by hash, without the prompt texts (the EXIF infotext has the recipe's) and the batch siblings' hashes. The
    whole graph is in the bundle's lineage.json, and in Seed under the master's sha256.

    Below a `full` recipe exposure each step is its kind alone: its parameters hold the text the encoders read
    (`prompt_read`) and, with its inputs, the rest of the recipe the channel keeps in."""
    chain = [
        {
            "derivation": step["derivation"],
            "op": step["op"],
            **(
                {
                    "params": {key: value for key, value in step["params"].items() if key != "metadata"},
                    "inputs": [{key: value for key, value in ref.items() if key != "text"} for ref in step["inputs"]],
                }
                if exposure == FULL
                else {}
            ),
        }
        for step in summary["chain"]
    ]
    return {**summary, "chain": chain}


def _c2pa_action(op: str) -> tuple[str, str | None]:
    """How a step reads in C2PA's action vocabulary; a step this install no longer declares reads as an edit."""
    spec = operation_find(op)
    return (spec.c2pa_action, spec.digital_source_type) if spec else ("c2pa.edited", None)


# Edits another tool's manifest names that Seed repeats as they are; any other is an edit (`opened` and `placed`
# would need ingredients of this claim, and C2PA allows `opened` only first).
OUTSIDE_EDITS = frozenset(
    {"c2pa.color_adjustments", "c2pa.cropped", "c2pa.drawing", "c2pa.edited", "c2pa.filtered", "c2pa.resized"}
)


def _outside_edits(derivation: Derivation) -> list[dict]:
    """A file brought back into the chain from outside (a retouch): the edits its own manifest names, with their
    software agents; a file without a manifest is one human edit."""
    described = f"edited outside Seed (derivation {derivation.pk})"
    edits = []
    for recorded in (derivation.params.get("credentials") or {}).get("actions") or []:
        named = recorded["action"]
        if named in ("c2pa.opened", "c2pa.created"):
            continue
        edit = {"action": named, "description": described}
        if named not in OUTSIDE_EDITS:
            edit.update(action="c2pa.edited", description=f"{described}: {named}")
        if recorded.get("softwareAgent"):
            edit["softwareAgent"] = {"name": recorded["softwareAgent"]}
        edits.append(edit)
    return edits or [{"action": "c2pa.edited", "digitalSourceType": IPTC + "humanEdits", "description": described}]


def chain_actions(chain: list[Derivation], graph: LineageGraph) -> tuple[list[dict], list[signing.Ingredient]]:
    """The chain in C2PA's vocabulary; an imported start is `opened` with the imported file as its parent."""
    actions, ingredients = [], []
    for derivation in chain:
        if derivation.op == "import" and not actions:
            imported = graph.versions[next(e.version_id for e in graph.generated if e.derivation_id == derivation.pk)]
            with blob_open(blob=imported.blob) as handle:
                ingredients.append(
                    signing.Ingredient(
                        title=f"imported file {imported.blob_id[:12]}",
                        relationship="parentOf",
                        media_type=imported.blob.media_type,
                        data=handle.read(),
                        label="imported",
                    )
                )
            actions.append(
                {
                    "action": "c2pa.opened",
                    "parameters": {"ingredientIds": ["imported"]},
                    "description": f"imported from outside Seed (derivation {derivation.pk})",
                }
            )
            continue
        if derivation.op == "import":
            actions += _outside_edits(derivation)
            continue
        name, source = _c2pa_action(derivation.op)
        agent = next(
            (
                edge.target.name
                for edge in graph.inputs.get(derivation.pk, [])
                if edge.role in (Used.Role.BASE_MODEL, Used.Role.UPSCALER)
            ),
            "Seed finishing",
        )
        action = {
            "action": name,
            "softwareAgent": {"name": agent},
            "description": f"{derivation.op_label} (derivation {derivation.pk})",
        }
        if source:
            action["digitalSourceType"] = source
        if not actions:
            # C2PA's list opens with created (or opened): the first recorded step is where the pixels began.
            action.update(action="c2pa.created", digitalSourceType=source or TRAINED)
        actions.append(action)
    return actions, ingredients


def input_ingredients(chain: list[Derivation], graph: LineageGraph, limit: int = 16) -> list[signing.Ingredient]:
    """References, masks and control images the chain used, as `inputTo` ingredients of the master."""
    ingredients, seen = [], set()
    for derivation in chain:
        for edge in graph.inputs.get(derivation.pk, []):
            if (
                edge.role
                not in (
                    Used.Role.REFERENCE,
                    Used.Role.MASK,
                    Used.Role.CONTROL_IMAGE,
                    Used.Role.INIT_IMAGE,
                    Used.Role.LAYER,
                )
                or edge.version_id
            ):
                continue
            blob = edge.reference.blob if edge.reference_id else edge.blob
            if blob.sha256 in seen or blob.media_type not in MEDIA_TYPES.values() or len(ingredients) >= limit:
                continue
            seen.add(blob.sha256)
            with blob_open(blob=blob) as handle:
                data = handle.read()
            ingredients.append(
                signing.Ingredient(
                    title=f"{edge.get_role_display()} {blob.sha256[:12]}",
                    relationship="inputTo",
                    media_type=blob.media_type,
                    data=data,
                    label=f"input-{blob.sha256[:12]}",
                )
            )
    return ingredients
