"""Re-run the recorded chain above a version from its lineage alone and say what came out.

Worker-only (imports torch). Generations are re-run with their recorded recipe, each from the
reproduced output of the step before; imports (outside files) are taken as recorded, so a chain that
starts with an imported file re-runs the finishing steps that follow it. Nothing is written unless
`record` is asked for.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from PIL import Image

from assets.errors import ApplicationError
from assets.imagehash import hash_distance, perceptual_hash, rerun_verdict
from assets.models import Derivation, DerivedFile, Generated, Phase, Used, Version
from assets.operations import operation_find
from assets.recipes import recipe_of
from assets.selectors import LineageGraph, lineage_graph
from assets.services.blobs import blob_open, blob_staged
from assets.services.derivations import UsedInput, derivation_create
from assets.services.runs import RunScope
from generation.finishing import file_render, finishing_render, mask_png


@dataclass
class Reproduction:
    version: Version
    png: bytes
    verdict: str
    distance: float  # bits in which the re-run's perceptual hash differs from the recorded image's
    fingerprint_diff: list[dict]
    steps: list[dict] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.png).hexdigest()

    def as_dict(self) -> dict:
        return {
            "version_id": self.version.pk,
            "verdict": self.verdict,
            "recorded_sha256": self.version.blob_id,
            "reproduced_sha256": self.sha256,
            "distance": round(self.distance, 6),
            "fingerprint_diff": self.fingerprint_diff,
            "steps": self.steps,
        }


def _recorded_image(version: Version) -> Image.Image:
    with blob_open(blob=version.blob) as handle, Image.open(handle) as image:
        return image.convert("RGB")


def _rerun(derivation: Derivation) -> str:
    """How `reproduce` treats the step, from its operation's declaration; an undeclared one keeps its bytes."""
    spec = operation_find(derivation.op)
    return spec.rerun if spec is not None else "recorded"


def _chain(version: Version) -> tuple[list[Derivation], LineageGraph]:
    graph = lineage_graph(version=version)
    return graph.chain(), graph


@dataclass
class _Replay:
    """What a re-run of one chain has made so far: each reproduced image by version id, the target's PNG, a record
    of each step, and the first difference found in each environment field."""

    version: Version
    graph: LineageGraph
    reproduced: dict[int, Image.Image] = field(default_factory=dict)
    final_png: bytes | None = None
    steps: list[dict] = field(default_factory=list)
    diff: dict = field(default_factory=dict)

    def image_of(self, edge: Used) -> Image.Image:
        from generation.runner import stored_image

        return self.reproduced.get(edge.version_id) or stored_image(edge)

    def differences_add(self, *, recorded: dict, current: dict) -> None:
        from generation.environment import fingerprint_diff

        for item in fingerprint_diff(recorded=recorded, current=current):
            self.diff.setdefault(item["field"], item)


def version_reproduce(*, version: Version, threads: int | None = None) -> Reproduction:
    """Re-run the chain in scratch space and compare with the recorded bytes.

    Each step runs on the thread count it recorded (or `threads`): the steps of one chain may have been made on
    workers with other settings, and any other count splits torch's sums differently.
    """
    import torch

    from generation.environment import environment_fingerprint
    from generation.loader import process_cache

    order, graph = _chain(version)
    rerunnable = [d for d in order if _rerun(d) in ("pipeline", "image")]
    if not rerunnable:
        raise ApplicationError(
            f"version {version.pk} has no generation or finishing step in its lineage: there is nothing to re-run",
            extra={"code": "unrunnable"},
        )
    previous_threads = torch.get_num_threads()
    try:
        cache = process_cache()
        replay = _Replay(version=version, graph=graph)
        needed = _needed(version, order, graph)
        for derivation in order:
            wanted = sorted(
                (vid for vid in needed if graph.made_by[vid].derivation_id == derivation.pk),
                key=lambda vid: graph.made_by[vid].index,
            )
            torch.set_num_threads(threads or derivation.environment.get("threads") or settings.SEED_TORCH_THREADS)
            current = environment_fingerprint(device=cache.placement.device, dtype=cache.placement.dtype_name)
            if _rerun(derivation) == "pipeline":
                _generation_rerun(replay, derivation=derivation, wanted=wanted, current=current, cache=cache)
            elif _rerun(derivation) == "image" and wanted:
                _finishing_rerun(replay, derivation=derivation, wanted=wanted, current=current)
            else:
                replay.steps.append(
                    {
                        "derivation": derivation.pk,
                        "op": derivation.op,
                        "rerun": False,
                        "why": "an outside file or an operation this worker cannot re-run: recorded bytes used",
                    }
                )
    finally:
        torch.set_num_threads(previous_threads)
    if replay.final_png is None:
        raise ApplicationError(
            f"version {version.pk} was not made by an operation the worker can re-run; only its inputs could be"
        )
    return _compared(replay)


def _generation_rerun(replay: _Replay, *, derivation: Derivation, wanted: list[int], current: dict, cache) -> None:
    from generation.imaging import png_bytes
    from generation.runner import images_generate, infotext
    from generation.transformer_files import base_environment

    graph = replay.graph
    recipe = recipe_of(derivation=derivation)
    images, _ = images_generate(
        recipe=recipe, indices=[graph.made_by[vid].index for vid in wanted], image_of=replay.image_of, cache=cache
    )
    for vid, (_, seed, image) in zip(wanted, images, strict=True):
        replay.reproduced[vid] = image
        if vid == replay.version.pk:
            replay.final_png = png_bytes(image=image, infotext=infotext(recipe=recipe, seed=seed))
    # How this worker loaded the step's base (quantisation, CPU offload), as the run recorded its own.
    current = {**current, **base_environment(weights=recipe.base, device=cache.placement.device)}
    replay.differences_add(recorded=derivation.environment, current=current)
    replay.steps.append({"derivation": derivation.pk, "op": derivation.op, "rerun": True, "outputs": wanted})


def _finishing_rerun(replay: _Replay, *, derivation: Derivation, wanted: list[int], current: dict) -> None:
    image, png = finishing_render(
        derivation=derivation, inputs=replay.graph.inputs.get(derivation.pk, []), image_of=replay.image_of
    )
    # Finishing runs in float32 on any device.
    replay.differences_add(recorded=derivation.environment, current={**current, "dtype": "float32"})
    replay.reproduced[wanted[0]] = image
    if wanted[0] == replay.version.pk:
        replay.final_png = png
    replay.steps.append({"derivation": derivation.pk, "op": derivation.op, "rerun": True, "outputs": wanted})


def _compared(replay: _Replay) -> Reproduction:
    """The verdict against the recorded image: identical bytes, or how far apart their perceptual hashes are."""
    version, final_png = replay.version, replay.final_png
    with Image.open(io.BytesIO(final_png)) as rerun:
        distance = float(hash_distance(perceptual_hash(rerun), perceptual_hash(_recorded_image(version))))
    sha = hashlib.sha256(final_png).hexdigest()
    verdict = rerun_verdict(identical=sha == version.blob_id, distance=distance)
    return Reproduction(
        version=version,
        png=final_png,
        verdict=verdict,
        distance=distance,
        fingerprint_diff=list(replay.diff.values()),
        steps=replay.steps,
    )


def file_reproduce(*, file: DerivedFile) -> dict:
    """Re-run what made a mask or an SVG and compare with the recorded bytes.

    A matte's mask is its cut-out's alpha, so the cut-out's chain is re-run; a refine or a vectorise re-runs on its
    recorded inputs. An SVG either matches byte for byte or has drifted (it has no perceptual hash).
    """
    derivation = file.derivation
    if derivation is None:
        raise ApplicationError(
            f"{file.get_kind_display().lower()} {file.pk} was uploaded: there is nothing to re-run",
            extra={"code": "unrunnable"},
        )
    if derivation.op == "matte":
        reproduction = version_reproduce(version=derivation.generated.get().version)
        with Image.open(io.BytesIO(reproduction.png)) as cut:
            rerun = cut.getchannel("A")
        data = mask_png(rerun)
        steps, diff = reproduction.steps, reproduction.fingerprint_diff
    elif _rerun(derivation) == "file":
        from generation.environment import environment_fingerprint, fingerprint_diff, torch_threads_pinned
        from generation.loader import placement_pick

        inputs = list(derivation.used.select_related("version__blob", "reference__blob", "blob"))
        rerun = None
        placement = placement_pick()
        with torch_threads_pinned(threads=derivation.environment.get("threads") or settings.SEED_TORCH_THREADS):
            data = file_render(derivation=derivation, inputs=inputs).data
            diff = fingerprint_diff(
                recorded=derivation.environment,
                current=environment_fingerprint(device=placement.device, dtype="float32"),
            )
        steps = [{"derivation": derivation.pk, "op": derivation.op, "rerun": True, "outputs": []}]
    else:
        raise ApplicationError(f"{derivation.op_label} is not an operation the worker can re-run")
    sha = hashlib.sha256(data).hexdigest()
    if rerun is not None:
        with blob_open(blob=file.blob) as handle, Image.open(handle) as recorded:
            distance = float(hash_distance(perceptual_hash(rerun), perceptual_hash(recorded.convert("L"))))
    else:
        distance = 0.0 if sha == file.blob_id else 64.0
    return {
        "file_id": file.pk,
        "kind": file.kind,
        "verdict": rerun_verdict(identical=sha == file.blob_id, distance=distance),
        "recorded_sha256": file.blob_id,
        "reproduced_sha256": sha,
        "distance": distance,
        "fingerprint_diff": diff,
        "steps": steps,
    }


def _needed(version: Version, order: list[Derivation], graph: LineageGraph) -> set[int]:
    """The versions on the path to `version` that a derivation made: siblings in a batch are not re-generated."""
    needed = {version.pk}
    for derivation in reversed(order):
        if any(graph.made_by[vid].derivation_id == derivation.pk for vid in needed if vid in graph.made_by):
            needed |= {edge.version_id for edge in graph.inputs.get(derivation.pk, []) if edge.version_id}
    return {vid for vid in needed if vid in graph.made_by}


def reproduction_record(*, reproduction: Reproduction, created_by=None, scope: RunScope | None = None) -> Version:
    """Keep the re-run as a new version, linked to the original as its reproduction.

    Inside a run, the run's scope discards the stored file if the run then fails; alone, a scope of its own does.
    """
    if scope is None:
        with RunScope() as own:
            return reproduction_record(reproduction=reproduction, created_by=created_by, scope=own)
    original = reproduction.version
    with blob_staged(source=io.BytesIO(reproduction.png), max_bytes=0) as staged:
        with transaction.atomic():
            blob = scope.blob_store(staged=staged, media_type="image/png")
            derivation = derivation_create(
                brief=original.brief,
                op="reproduce",
                phase=Phase.PRODUCTION,
                params={
                    "verdict": reproduction.verdict,
                    "distance": round(reproduction.distance, 6),
                    "fingerprint_diff": [item["field"] for item in reproduction.fingerprint_diff],
                },
                inputs=[UsedInput(role=Used.Role.REPRODUCED, target=original)],
                state=Derivation.State.SUCCEEDED,
                created_by=created_by,
            )
            with Image.open(io.BytesIO(reproduction.png)) as image:
                width, height = image.size
            version = Version.objects.create(
                brief=original.brief,
                blob=blob,
                width=width,
                height=height,
                format="PNG",
                seed=original.seed,
                label=f"reproduction of v{original.pk}",
            )
            Generated.objects.create(derivation=derivation, version=version, role=Generated.Role.REPRODUCTION)
    return version
