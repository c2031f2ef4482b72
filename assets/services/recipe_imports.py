"""Images made in other tools, imported with the recipe their generator wrote into them.

Each file becomes an import derivation whose parameters hold the recovered recipe (typed as ours, with the raw
metadata, cut short) and whose used edges point at the prompt and at the registered weights its models match
(by sha256, the AutoV2 or LoRA short hash A1111 prints, BLAKE3 as InvokeAI names them, or by name). What does
not match is named in the report. A refused file leaves no row and no file; the files around it still import.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.db.models import Q
from django.utils import timezone

from assets.errors import ApplicationError
from assets.foreign_recipes import ForeignRecipe, ModelRef, recipe_read
from assets.models import Brief, Derivation, ModelWeights, Phase, Used, Version
from assets.parent_matching import ParentUnknown
from assets.services.arrivals import arrival_read, arrival_record
from assets.services.blobs import blob_open, image_ingest
from assets.services.derivations import (
    UsedInput,
    derivation_create,
    derivation_finish,
    derivation_output_add,
    weights_usable_in,
)
from assets.services.licences import licences_attach
from assets.services.prompts import prompt_from_text
from assets.services.versions import source_name_clean

MAX_FILES = 100
MODEL_EXTENSIONS = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft")


def weights_match(*, ref: ModelRef, kind: str, brief: Brief) -> ModelWeights | None:
    """The registered weights a foreign tool's model reference names among those `brief` may use, or None."""
    weights = weights_usable_in(ModelWeights.objects.filter(kind=kind), brief=brief)
    digest = ref.hash.removeprefix("blake3:").strip().lower()
    if re.fullmatch(r"[0-9a-f]{64}", digest):
        found = weights.filter(Q(sha256=digest) | Q(blake3=digest)).first()
        if found is not None:
            return found
    elif re.fullmatch(r"[0-9a-f]{10}|[0-9a-f]{12}", digest):  # A1111's AutoV2 model hash, its LoRA short hash
        found = weights.filter(sha256__startswith=digest).first()
        if found is not None:
            return found
    name = _model_stem(ref.name) if ref.name else ""
    if not name:
        return None
    return weights.filter(
        Q(name__iexact=name) | Q(source_name__iexact=name) | Q(source_name__iexact=ref.name.strip())
    ).first()


def _model_stem(name: str) -> str:
    """A model file's name without its folder and model extension; a dot inside a name ("SD 1.5") stays."""
    path = Path(name.replace("\\", "/"))
    return (path.stem if path.suffix.lower() in MODEL_EXTENSIONS else path.name).strip()


def images_import(
    *,
    brief: Brief,
    sources: list,
    licences: list = (),
    created_by=None,
    parent: Version | None = None,
    find_parent: bool = False,
) -> list[dict]:
    """Import every file in `sources` (uploaded files or open files with a name): one report each, in order.

    `licences` cover every imported file (a stock photo's, an agency's terms). Each file is made from `parent` when
    one is given; with `find_parent`, a retouch brought back is attached to the version it was made from
    (assets.parent_matching), and a file whose parent a person must name is refused with the candidates."""
    if not sources:
        raise ApplicationError("choose at least one image to import")
    if len(sources) > MAX_FILES:
        raise ApplicationError(f"{len(sources)} files at once; import at most {MAX_FILES}")
    reports = []
    for source in sources:
        name = source_name_clean(getattr(source, "name", "") or "") or "image"
        try:
            reports.append(
                _image_import(
                    brief=brief,
                    source=source,
                    name=name,
                    licences=licences,
                    created_by=created_by,
                    parent=parent,
                    find_parent=find_parent,
                )
            )
        except ApplicationError as exc:
            refused = {"file": name, "imported": False, "error": exc.message, "code": exc.extra.get("code", "")}
            if isinstance(exc, ParentUnknown):
                refused["candidates"] = exc.extra["candidates"]
            reports.append(refused)
    return reports


def _image_import(
    *, brief: Brief, source, name: str, licences: list, created_by, parent: Version | None, find_parent: bool
) -> dict:
    started_at = timezone.now()
    with image_ingest(source=source) as (blob, info):
        with blob_open(blob=blob) as handle:
            recipe = recipe_read(source=handle)
        find = find_parent and parent is None
        arrival = arrival_read(blob=blob, info=info, brief=brief, find_parent=find, user=created_by)
        params: dict = {"source": name}
        inputs: list[UsedInput] = []
        report: dict = {
            "file": name,
            "imported": True,
            "generator": None,
            "recovered": [],
            "matched": [],
            "missing": [],
        }
        if recipe is not None:
            params, inputs = _recipe_params(brief=brief, recipe=recipe, params=params, report=report)
        given = [UsedInput(role=Used.Role.PARENT, target=parent)] if parent is not None else []
        derivation = derivation_create(
            brief=brief,
            op="import",
            phase=Phase.PRODUCTION,
            params={**params, **arrival.params},
            inputs=[*given, *arrival.inputs, *inputs],
            state=Derivation.State.RUNNING,
            created_by=created_by,
        )
        version = Version.objects.create(
            brief=brief,
            blob=blob,
            width=info.width,
            height=info.height,
            format=info.format,
            seed=params.get("seed"),
            label=name[:200],
        )
        derivation_output_add(derivation=derivation, version=version)
        derivation_finish(derivation=derivation, started_at=started_at)
        arrival_record(arrival=arrival, version=version)
        if licences:
            licences_attach(licences=licences, versions=[version], actor=created_by)
    report.update(arrival.report, version=version.pk, derivation=derivation.pk, sha256=blob.sha256)
    if parent is not None:
        report["parent"] = parent.pk
    return report


def _recipe_params(*, brief: Brief, recipe: ForeignRecipe, params: dict, report: dict) -> tuple[dict, list[UsedInput]]:
    params = {**params, "generator": recipe.generator, **recipe.params, "metadata": recipe.metadata}
    if recipe.not_reproducible:
        params["not_reproducible"] = recipe.not_reproducible
    inputs: list[UsedInput] = []
    report["generator"] = recipe.generator
    report["recovered"] = sorted(key for key in recipe.params if key != "sampler_source")
    if recipe.prompt:
        prompt = prompt_from_text(brief=brief, text=recipe.prompt[:20000], negative_text=recipe.negative_prompt[:20000])
        inputs.append(UsedInput(role=Used.Role.PROMPT, target=prompt))
        report["recovered"] = sorted(
            [*report["recovered"], "prompt", *(["negative_prompt"] if recipe.negative_prompt else [])]
        )
    models = []
    wanted = [(Used.Role.BASE_MODEL, ModelWeights.Kind.BASE, recipe.model, 0)]
    wanted += [(Used.Role.LORA, ModelWeights.Kind.LORA, lora, position) for position, lora in enumerate(recipe.loras)]
    wanted += [(Used.Role.VAE, ModelWeights.Kind.VAE, recipe.vae, 0)]
    for role, kind, ref, position in wanted:
        if ref is None:
            continue
        described = {"role": role, "name": ref.name[:200], "hash": ref.hash[:80]}
        if ref.weight is not None:
            described["weight"] = ref.weight
        weights = weights_match(ref=ref, kind=kind, brief=brief)
        if weights is None:
            report["missing"].append(described)
        else:
            described["matched"] = {"id": weights.pk, "name": weights.name, "sha256": weights.sha256}
            report["matched"].append(described)
            inputs.append(
                UsedInput(
                    role=role, target=weights, weight=ref.weight if role == Used.Role.LORA else None, position=position
                )
            )
        models.append(described)
    params["models"] = models
    return params, inputs
