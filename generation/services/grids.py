"""Comparison grids: A1111's X/Y/Z plot done as lineage.

Up to three axes vary one thing each — base model, a LoRA's weight, CFG, steps, sampler, seed, a prompt
search/replace, VAE — over a shared recipe. Every cell is a generation job of its own (one version, its own
derivation), queued together or not at all; once every cell is made, the labelled sheet is a version of op
`grid` whose derivation uses every cell.
"""

from __future__ import annotations

import io
import itertools
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from PIL import Image, ImageDraw, ImageOps

from assets.errors import ApplicationError
from assets.images import label_font
from assets.models import Brief, Derivation, ModelWeights, Phase, Used, Version
from assets.recipes import Recipe, recipe_build, recipe_fields_diff
from assets.services.blobs import BlobsStored, blob_open
from assets.services.derivations import UsedInput, derivation_create, derivation_finish, derivation_output_add
from generation.models import GenerationJob, GridCell, GridJob
from generation.requests import GenerationRequest, LoraSpec
from generation.samplers import SAMPLERS
from generation.services.jobs import generation_job_cancel, generation_job_create

AXIS_KINDS = {
    "model": "Base model",
    "lora_weight": "LoRA weight",
    "cfg": "CFG scale",
    "steps": "Steps",
    "sampler": "Sampler",
    "seed": "Seed",
    "prompt_sr": "Prompt S/R",
    "vae": "VAE",
}
MAX_AXES = 3
MAX_VALUES = 50
CELL = 256
FONT = 16


@dataclass
class _Cell:
    base: ModelWeights
    vae: ModelWeights | None
    loras: list[LoraSpec]
    params: dict
    prompt_text: str


def grid_create(
    *,
    brief: Brief,
    base_model: ModelWeights,
    prompt_text: str,
    params: dict,
    axes: list[dict],
    negative_prompt: str | None = None,
    loras: list[LoraSpec] = (),
    vae: ModelWeights | None = None,
    created_by=None,
) -> GridJob:
    """Queue a cell for every combination of the axes' values; refused whole (nothing queued) when anything is wrong.

    `axes`: [{"kind": one of AXIS_KINDS, "values": [...], "lora": weights id (lora_weight only)}], X first.
    """
    loras = list(loras)
    described = _axes_checked(axes=axes, loras=loras, prompt_text=prompt_text)
    # One seed for every cell unless the seed is an axis: a grid compares what its axes change, nothing else.
    params = {**params, "seed": params.get("seed", secrets.randbelow(2**32))}
    with transaction.atomic():
        grid = GridJob.objects.create(
            brief=brief,
            axes=[{key: axis[key] for key in ("kind", "label", "values")} for axis in described],
            request={
                "base_model": base_model.sha256,
                "prompt_text": prompt_text,
                "negative_prompt": negative_prompt,
                "loras": [[spec.weights.sha256, spec.weight] for spec in loras],
                "params": params,
            },
            created_by=created_by,
        )
        for position, coords in enumerate(itertools.product(*(range(len(axis["values"])) for axis in described))):
            cell = _Cell(
                base=base_model,
                vae=vae,
                loras=[LoraSpec(weights=s.weights, weight=s.weight) for s in loras],
                params={**params, "batch_size": 1},
                prompt_text=prompt_text,
            )
            for axis, index in zip(described, coords, strict=True):
                _apply(cell=cell, axis=axis, value=axis["raw"][index])
            job = _cell_job_create(brief=brief, cell=cell, negative_prompt=negative_prompt, created_by=created_by)
            GridCell.objects.create(
                grid=grid, job=job, position=position, coords=[*coords, *[0] * (MAX_AXES - len(coords))]
            )
    return grid


def _axes_checked(*, axes: list[dict], loras: list[LoraSpec], prompt_text: str) -> list[dict]:
    """Each axis cleaned, refused when there are too many axes or their combinations make too many cells."""
    if not 1 <= len(axes) <= MAX_AXES:
        raise ApplicationError(f"a grid has one to {MAX_AXES} axes, not {len(axes)}")
    described = [_axis_clean(axis=axis, loras=loras, prompt_text=prompt_text) for axis in axes]
    cells = 1
    for axis in described:
        cells *= len(axis["values"])
    if cells > settings.SEED_GRID_MAX_CELLS:
        raise ApplicationError(
            f"the grid would make {cells} cells; at most {settings.SEED_GRID_MAX_CELLS} "
            "(SEED_GRID_MAX_CELLS): drop values or an axis",
            extra={"code": "too_many_cells", "cells": cells},
        )
    return described


def _cell_job_create(*, brief: Brief, cell: _Cell, negative_prompt: str | None, created_by) -> GenerationJob:
    return generation_job_create(
        request=GenerationRequest(
            brief=brief,
            op="txt2img",
            base_model=cell.base,
            vae=cell.vae,
            loras=tuple(cell.loras),
            prompt_text=cell.prompt_text,
            negative_prompt=negative_prompt,
            params=cell.params,
        ),
        created_by=created_by,
    )


def _axis_clean(*, axis: dict, loras: list[LoraSpec], prompt_text: str) -> dict:
    kind = axis.get("kind") if isinstance(axis, dict) else None
    if kind not in AXIS_KINDS:
        raise ApplicationError(f"unknown grid axis {kind!r}; choose one of {', '.join(AXIS_KINDS)}")
    values = axis.get("values")
    if not isinstance(values, list) or not values or len(values) > MAX_VALUES:
        raise ApplicationError(f"the {AXIS_KINDS[kind]} axis needs 1 to {MAX_VALUES} values")
    label, raw = AXIS_KINDS[kind], list(values)
    try:
        if kind in ("model", "vae"):
            wanted = ModelWeights.Kind.BASE if kind == "model" else ModelWeights.Kind.VAE
            found = {w.pk: w for w in ModelWeights.objects.filter(pk__in=[int(v) for v in values], kind=wanted)}
            missing = [v for v in values if int(v) not in found]
            if missing:
                raise ApplicationError(f"no registered {wanted} weights with id {', '.join(map(str, missing))}")
            raw = [found[int(v)] for v in values]
            shown = [weights.name for weights in raw]
        elif kind == "lora_weight":
            lora = next((spec.weights for spec in loras if spec.weights.pk == axis.get("lora")), None)
            if lora is None:
                raise ApplicationError('a LoRA weight axis names one of the grid\'s LoRAs (its weights id in "lora")')
            raw = [(lora, float(v)) for v in values]
            label, shown = f"{lora.name} weight", [f"{float(v):g}" for v in values]
        elif kind == "cfg":
            raw = [float(v) for v in values]
            shown = [f"{v:g}" for v in raw]
        elif kind in ("steps", "seed"):
            raw = [int(v) for v in values]
            shown = [str(v) for v in raw]
        elif kind == "sampler":
            bad = [v for v in values if v not in SAMPLERS]
            if bad:
                raise ApplicationError(
                    f"unknown sampler(s) {', '.join(map(str, bad))}; choose from {', '.join(SAMPLERS)}"
                )
            shown = list(values)
        else:  # prompt_sr: the first value is what is searched for, each value replaces it (A1111's Prompt S/R)
            if not all(isinstance(v, str) and v for v in values) or values[0] not in prompt_text:
                raise ApplicationError(
                    "a prompt S/R axis is words: the first must occur in the prompt, each replaces it"
                )
            shown = list(values)
    except (TypeError, ValueError):
        raise ApplicationError(f"the {AXIS_KINDS[kind]} axis has a value of the wrong type") from None
    return {
        "kind": kind,
        "label": label,
        "values": [{"value": _plain(v), "label": s} for v, s in zip(raw, shown, strict=True)],
        "raw": raw,
        "search": values[0] if kind == "prompt_sr" else None,
    }


def _plain(value):
    if isinstance(value, ModelWeights):
        return value.pk
    if isinstance(value, tuple):
        return value[1]
    return value


def _apply(*, cell: _Cell, axis: dict, value) -> None:
    kind = axis["kind"]
    if kind == "model":
        cell.base = value
    elif kind == "vae":
        cell.vae = value
    elif kind == "lora_weight":
        lora, weight = value
        cell.loras = [LoraSpec(weights=s.weights, weight=weight if s.weights == lora else s.weight) for s in cell.loras]
    elif kind == "prompt_sr":
        cell.prompt_text = cell.prompt_text.replace(axis["search"], value)
    else:
        cell.params[kind] = value


def grid_progress(*, grid: GridJob) -> dict:
    """Cells by state, the versions made so far in cell order, and the grid's own state."""
    derivations = list(
        Derivation.objects.filter(job_batch__job__grid_cell__grid=grid)
        .order_by("job_batch__job__grid_cell__position")
        .prefetch_related("generated")
    )
    states = [d.state for d in derivations]
    counts = {state: states.count(state) for state in set(states)}
    done = counts.get(Derivation.State.SUCCEEDED, 0)
    if grid.sheet_id:
        state = "done"
    elif counts.get(Derivation.State.CANCELLED):
        state = "cancelled"
    elif counts.get(Derivation.State.FAILED):
        state = "failed"
    else:
        state = "ready for its sheet" if done == len(states) else "running"
    return {
        "state": state,
        "cells": len(states),
        "done": done,
        "by_state": counts,
        "versions": [next((edge.version_id for edge in d.generated.all()), None) for d in derivations],
        "sheet": grid.sheet_id,
    }


def grid_cancel(*, grid: GridJob, cancelled_by=None) -> int:
    """Cancel every cell still queued or running; made cells stay."""
    return sum(
        generation_job_cancel(job=cell.job, cancelled_by=cancelled_by) for cell in grid.cells.select_related("job")
    )


def grid_sheet_make(*, grid: GridJob, created_by=None) -> Version:
    """The labelled sheet: axis titles and values in a legible font, one block per Z value, cells in X columns and
    Y rows; recorded as a version of op `grid` whose derivation uses every cell. Made once."""
    with transaction.atomic():
        grid = GridJob.objects.select_for_update().get(pk=grid.pk)
        if grid.sheet_id:
            return grid.sheet
        progress = grid_progress(grid=grid)
        if progress["done"] != progress["cells"]:
            raise ApplicationError(
                f"{progress['done']} of {progress['cells']} cells are made ({progress['state']}); "
                "the sheet needs every one",
                extra={"code": "cells_missing"},
            )
        cells = list(grid.cells.order_by("position"))
        versions = {v.pk: v for v in Version.objects.filter(pk__in=progress["versions"]).select_related("blob")}
        made = [versions[pk] for pk in progress["versions"]]
        png = _sheet_png(grid=grid, cells=cells, versions=made)
        with BlobsStored() as stored:
            blob = stored.store_bytes(data=png, media_type="image/png")
            derivation = derivation_create(
                brief=grid.brief,
                op="grid",
                phase=Phase.IDEATION,
                state=Derivation.State.RUNNING,
                params={"axes": [axis["label"] for axis in grid.axes], "cells": len(made)},
                created_by=created_by,
                inputs=[UsedInput(role=Used.Role.PARENT, target=version, position=i) for i, version in enumerate(made)],
            )
            with Image.open(io.BytesIO(png)) as image:
                width, height = image.size
            sheet = Version.objects.create(
                brief=grid.brief,
                blob=blob,
                width=width,
                height=height,
                format="PNG",
                label=f"grid #{grid.pk}: {' × '.join(a['label'] for a in grid.axes)}",
            )
            derivation_output_add(derivation=derivation, version=sheet)
            derivation_finish(derivation=derivation, started_at=derivation.created_at)
            GridJob.objects.filter(pk=grid.pk).update(sheet=sheet)
    return sheet


def _sheet_png(*, grid: GridJob, cells: list[GridCell], versions: list[Version]) -> bytes:
    axes = grid.axes
    columns = len(axes[0]["values"])
    rows = len(axes[1]["values"]) if len(axes) > 1 else 1
    blocks = len(axes[2]["values"]) if len(axes) > 2 else 1
    font, title_font = label_font(FONT), label_font(FONT + 4)
    left, top, gap = 200 if len(axes) > 1 else 16, 48, 12
    block_height = top + rows * (CELL + gap)
    sheet = Image.new("RGB", (left + columns * (CELL + gap) + gap, 40 + blocks * block_height + 16), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text(
        (16, 10),
        ",  ".join(f"{'XYZ'[i]}: {axis['label']}" for i, axis in enumerate(axes)),
        fill="black",
        font=title_font,
    )
    for cell, version in zip(cells, versions, strict=True):
        x, y, z = cell.coords
        origin_y = 40 + z * block_height
        if x == 0 and y == 0 and len(axes) > 2:
            draw.text(
                (16, origin_y + 8),
                f"{axes[2]['label']}: {axes[2]['values'][z]['label']}",
                fill="black",
                font=title_font,
            )
        if y == 0:
            draw.text(
                (left + x * (CELL + gap) + CELL // 2, origin_y + top - 14),
                axes[0]["values"][x]["label"][:32],
                fill="black",
                font=font,
                anchor="ms",
            )
        if x == 0 and len(axes) > 1:
            draw.text(
                (16, origin_y + top + y * (CELL + gap) + CELL // 2),
                axes[1]["values"][y]["label"][:22],
                fill="black",
                font=font,
                anchor="lm",
            )
        with blob_open(blob=version.blob) as handle, Image.open(handle) as image:
            # Small images (tiny models, thumbnails) are enlarged with hard pixels so a 100 % view shows what was made.
            small = max(image.size) < CELL
            thumb = ImageOps.contain(
                image.convert("RGB"),
                (CELL, CELL),
                method=Image.Resampling.NEAREST if small else Image.Resampling.LANCZOS,
            )
        cell_x, cell_y = left + x * (CELL + gap), origin_y + top + y * (CELL + gap)
        sheet.paste(thumb, (cell_x + (CELL - thumb.width) // 2, cell_y + (CELL - thumb.height) // 2))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue()


def grid_table(*, grid: GridJob) -> list[dict]:
    """Every cell with its axis values, state, version and what its recipe changes against the first cell's."""
    cells = list(
        grid.cells.select_related("job")
        .prefetch_related(
            "job__batches__derivation__used__model_weights",
            "job__batches__derivation__used__prompt",
            "job__batches__derivation__generated",
        )
        .order_by("position")
    )
    recipes = []
    for cell in cells:
        derivation = cell.job.batches.all()[0].derivation
        recipes.append(
            (cell, derivation, _cell_fields(recipe_build(derivation=derivation, edges=list(derivation.used.all()))))
        )
    first = recipes[0][2] if recipes else {}
    table = []
    for cell, derivation, fields in recipes:
        outputs = [edge.version_id for edge in derivation.generated.all()]
        table.append(
            {
                "position": cell.position,
                "coords": cell.coords,
                "labels": [axis["values"][index]["label"] for axis, index in zip(grid.axes, cell.coords, strict=False)],
                "state": derivation.state,
                "version": outputs[0] if outputs else None,
                "diff": [
                    {"field": row["field"], "first": row["before"], "here": row["after"]}
                    for row in recipe_fields_diff(before=first, after=fields)
                ],
            }
        )
    return table


def _cell_fields(recipe: Recipe) -> dict:
    """A cell's recipe in the axes' own terms (a grid compares what its axes change)."""
    fields = {key: recipe.params.get(key) for key in ("sampler", "steps", "cfg", "seed")}
    fields["model"] = recipe.base.name
    fields.update({f"lora {weights.name}": weight for weights, weight in recipe.loras})
    fields["prompt"] = recipe.prompt.text
    if recipe.vae is not None:
        fields["vae"] = recipe.vae.name
    return fields
