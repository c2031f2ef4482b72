"""Deliver an approved master: QC every preset, render, stamp EXIF, sign C2PA, record, bundle.

`delivery_create` and `delivery_override` run in the web process; `delivery_execute` is the worker's
task. A delivery either produces every file, signed and read back as Trusted, or nothing at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import zipfile
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from PIL import Image

from assets import colour
from assets.errors import ApplicationError
from assets.imagehash import perceptual_hash
from assets.models import Derivation, Generated, Operation, Phase, Used, Version
from assets.selectors import LineageGraph, lineage_graph
from assets.services.blobs import StagedFile, blob_discard, blob_hash, blob_open, blob_store
from assets.services.claims import claim_take
from assets.services.derivations import UsedInput, derivation_create
from delivery import provenance, renditions
from delivery.models import DEFAULT_NAME_TEMPLATE, ChannelPreset, Delivery, DeliveryItem, Fingerprint
from review.selectors import version_final_approval
from review.services.audit import audit_event_append

OVERRIDE_PERMISSION = "delivery.override_qc"
logger = logging.getLogger(__name__)


def _enqueue(delivery_id: int) -> None:
    from django_q.tasks import async_task

    async_task("delivery.tasks.run_delivery", delivery_id, task_name=f"delivery-{delivery_id}")


def _approval_check(version: Version):
    """The version's final approval of its current bytes, and the stored bytes still hash to them."""
    approval = version_final_approval(version=version)
    if approval is None:
        raise ApplicationError(f"version {version.pk} has no final (client) approval of its current bytes; "
                               "only approved masters are delivered", extra={"code": "not_approved"})
    stored = blob_hash(sha256=version.blob_id)
    if stored != approval.sha256:
        raise ApplicationError(f"version {version.pk}'s stored bytes no longer match what was approved "
                               f"(approved {approval.sha256[:12]}, stored {(stored or 'missing')[:12]}): it cannot be delivered",
                               extra={"code": "changed_since_approval"})
    return approval


def delivery_create(*, version: Version, presets: list[ChannelPreset] | None = None, name_template: str = DEFAULT_NAME_TEMPLATE,
                    override_reason: str = "", created_by=None) -> Delivery:
    """Queue one delivery of an approved master to `presets` (all active ones when None)."""
    renditions.name_template_check(name_template)
    chosen = list(ChannelPreset.objects.filter(active=True)) if presets is None else list(presets)
    if not chosen:
        raise ApplicationError("choose at least one preset")
    inactive = [preset.slug for preset in chosen if not preset.active]
    if inactive:
        raise ApplicationError(f"preset(s) switched off: {', '.join(inactive)}")
    override_reason = override_reason.strip()
    if override_reason and not (created_by is not None and created_by.has_perm(OVERRIDE_PERMISSION)):
        raise ApplicationError("only a producer may override QC", extra={"code": "permission"})
    with transaction.atomic():
        version = Version.objects.select_for_update().get(pk=version.pk)
        approval = _approval_check(version)
        now = timezone.now()
        delivery = Delivery.objects.create(
            version=version, approval=approval, name_template=name_template, created_by=created_by,
            progress_total=len(chosen), override_reason=override_reason,
            overridden_by=created_by if override_reason else None, overridden_at=now if override_reason else None,
        )
        delivery.presets.set(chosen)
        audit_event_append(kind="delivery.requested", object_type="delivery", object_id=delivery.pk, actor=created_by,
                           payload={"version": version.pk, "sha256": version.blob_id, "presets": [p.slug for p in chosen],
                                    "override_reason": override_reason})
        transaction.on_commit(partial(_enqueue, delivery.pk))
    return delivery


def delivery_override(*, delivery: Delivery, reason: str, user) -> Delivery:
    """A producer lets a delivery blocked by QC go ahead; the reason is audited and the job queued again."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("give the reason for overriding QC")
    if user is None or not user.has_perm(OVERRIDE_PERMISSION):
        raise ApplicationError("only a producer may override QC", extra={"code": "permission"})
    with transaction.atomic():
        now = timezone.now()
        updated = Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.BLOCKED).update(
            state=Delivery.State.QUEUED, override_reason=reason, overridden_by=user, overridden_at=now, error="")
        if not updated:
            raise ApplicationError(f"delivery {delivery.pk} is not blocked by QC", extra={"code": "not_blocked"})
        failed = [{"preset": fact["preset"], "checks": [c["check"] for c in fact["checks"] if not c["passed"]]}
                  for fact in delivery.qc if not fact.get("passed", True)]
        audit_event_append(kind="delivery.qc_overridden", object_type="delivery", object_id=delivery.pk, actor=user,
                           payload={"reason": reason, "failed": failed})
        transaction.on_commit(partial(_enqueue, delivery.pk))
    delivery.refresh_from_db()
    return delivery


def _claim(delivery_id: int) -> Delivery | None:
    if claim_take(model=Delivery, pk=delivery_id, fields={"progress_step": 0}) is None:
        return None
    delivery = Delivery.objects.select_related("version__brief__campaign__client", "approval__review_round").get(pk=delivery_id)
    if delivery.attempts > settings.Q_CLUSTER["max_attempts"]:
        _fail(delivery, f"gave up after {delivery.attempts - 1} attempts whose worker stopped")
        return None
    return delivery


def _fail(delivery: Delivery, message: str, state: str = Delivery.State.FAILED, qc: list | None = None) -> None:
    finished = timezone.now()
    fields = {"state": state, "error": message[:2000], "finished_at": finished,
              "wall_seconds": (finished - delivery.started_at).total_seconds() if delivery.started_at else None}
    if qc is not None:
        fields["qc"] = qc
    Delivery.objects.filter(pk=delivery.pk, claim_token=delivery.claim_token, state=Delivery.State.RUNNING).update(**fields)


def _progress(delivery: Delivery, step: int) -> None:
    Delivery.objects.filter(pk=delivery.pk, claim_token=delivery.claim_token).update(progress_step=step)


def _model_factor(chain: list[Derivation]) -> int | None:
    factor = 1
    for derivation in chain:
        if derivation.op == Operation.UPSCALE:
            factor *= derivation.params.get("scale", 1)
    return factor if factor > 1 else None


def _seed(version: Version, graph: LineageGraph) -> int | None:
    if version.seed is not None:
        return version.seed
    return next((v.seed for v in graph.versions.values() if v.seed is not None), None)


def _generation(chain: list[Derivation]):
    from generation.selectors import recipe_of
    from generation.services.jobs import GENERATION_OPS

    last = next((d for d in reversed(chain) if d.op in GENERATION_OPS), None)
    return recipe_of(derivation=last) if last is not None else None


def _recipe_lines(recipe) -> list[str]:
    if recipe is None:
        return ["Imported master: no generation recipe in the lineage"]
    params = recipe.params
    lines = [f"Prompt: {recipe.prompt.text}"]
    if recipe.prompt.negative_text:
        lines.append(f"Negative: {recipe.prompt.negative_text}")
    lines.append(f"{recipe.op} · seed {params['seed']} · {params['sampler']} · {params['steps']} steps · CFG {params['cfg']:g}")
    lines.append(f"Base model: {recipe.base.name} ({recipe.base.sha256[:10]})")
    lines += [f"LoRA: {weights.name} ({weights.sha256[:10]}) @ {weight:g}" for weights, weight in recipe.loras]
    return lines


def _infotext_value(value: str) -> str:
    """A1111 quotes values holding its separators."""
    return json.dumps(value) if any(mark in value for mark in (",", ":", "\n")) else value


def _stamp(*, master: Version, recipe, chain: list[Derivation], when) -> provenance.Stamp:
    from generation.runner import infotext

    client = master.brief.campaign.client.name
    ours = [("Seed version", f"v{master.pk}"), ("Seed sha256", master.blob_id),
            ("Seed chain", " > ".join(d.op for d in chain))]
    if recipe is not None:
        ours += [("Model", recipe.base.name), ("Model sha256", recipe.base.sha256)]
        ours += [(f"Lora {i + 1}", f"{weights.name} sha256 {weights.sha256} weight {weight:g}")
                 for i, (weights, weight) in enumerate(recipe.loras)]
        text = infotext(recipe=recipe, seed=master.seed if master.seed is not None else recipe.params["seed"])
    else:
        text = master.label or f"version {master.pk}"
    extra = ", ".join(f"{key}: {_infotext_value(value)}" for key, value in ours)
    text = f"{text}, {extra}" if recipe is not None else f"{text}\n{extra}"
    inpainted = any(d.op in (Operation.INPAINT, Operation.OUTPAINT) for d in chain)
    return provenance.Stamp(
        description=recipe.prompt.text if recipe is not None else (master.label or master.brief.title),
        parameters=text, artist=settings.SEED_STUDIO_NAME, copyright=f"© {when.year} {client}",
        software=f"Seed {provenance.GENERATOR['version']}", unique_id=master.blob_id, created=when.strftime("%Y:%m:%d %H:%M:%S"),
        digital_source_type=(provenance.COMPOSITE_TRAINED if inpainted else provenance.TRAINED) if recipe is not None else None,
        ai_system=recipe.base.name if recipe is not None else "",
    )


def _edge_ref(edge: Used) -> dict:
    target = edge.target
    ref = {"role": edge.role}
    if edge.version_id:
        ref.update(version=edge.version_id, sha256=target.blob_id)
    elif edge.reference_id:
        ref.update(reference=edge.reference_id, sha256=target.blob_id)
    elif edge.prompt_id:
        ref.update(prompt=edge.prompt_id, text=target.text)
    elif edge.model_weights_id:
        ref.update(model=target.name, sha256=target.sha256)
    else:
        ref.update(sha256=edge.blob_id)
    if edge.weight is not None:
        ref["weight"] = edge.weight
    return ref


def lineage_summary(*, master: Version, graph: LineageGraph, chain: list[Derivation], approval) -> dict:
    """What the custom C2PA assertion and the bundle's report say about the master's ancestry."""
    outputs: dict[int, list[str]] = {}
    for edge in graph.generated:
        outputs.setdefault(edge.derivation_id, []).append(graph.versions[edge.version_id].blob_id)
    return {
        "version_id": master.pk, "sha256": master.blob_id, "brief": {"id": master.brief_id, "title": master.brief.title},
        "client": master.brief.campaign.client.name,
        "approval": {"id": approval.pk, "round": approval.review_round_id, "sha256": approval.sha256,
                     "at": approval.created_at.isoformat()},
        "chain": [{"derivation": d.pk, "op": d.op, "phase": d.phase, "params": d.params,
                   "inputs": [_edge_ref(edge) for edge in graph.inputs.get(d.pk, [])],
                   "outputs": outputs.get(d.pk, [])} for d in chain],
    }


def _actions(chain: list[Derivation], graph: LineageGraph) -> tuple[list[dict], list[provenance.Ingredient]]:
    """The chain in C2PA's vocabulary; an imported start is `opened` with the imported file as its parent."""
    actions, ingredients = [], []
    for derivation in chain:
        if derivation.op == Operation.IMPORT and not actions:
            imported = graph.versions[next(e.version_id for e in graph.generated if e.derivation_id == derivation.pk)]
            with blob_open(blob=imported.blob) as handle:
                ingredients.append(provenance.Ingredient(
                    title=f"imported file {imported.blob_id[:12]}", relationship="parentOf", media_type=imported.blob.media_type,
                    data=handle.read(), label="imported"))
            actions.append({"action": "c2pa.opened", "parameters": {"ingredientIds": ["imported"]},
                            "description": f"imported from outside Seed (derivation {derivation.pk})"})
            continue
        name, source = provenance.ACTIONS.get(derivation.op, ("c2pa.edited", None))
        agent = next((edge.target.name for edge in graph.inputs.get(derivation.pk, [])
                      if edge.role in (Used.Role.BASE_MODEL, Used.Role.UPSCALER)), "Seed finishing")
        action = {"action": name, "softwareAgent": {"name": agent},
                  "description": f"{derivation.get_op_display()} (derivation {derivation.pk})"}
        if source:
            action["digitalSourceType"] = source
        if not actions:
            # C2PA's list opens with created (or opened): the first recorded step is where the pixels began.
            action.update(action="c2pa.created", digitalSourceType=source or provenance.TRAINED)
        actions.append(action)
    return actions, ingredients


def _input_ingredients(chain: list[Derivation], graph: LineageGraph, limit: int = 16) -> list[provenance.Ingredient]:
    """References, masks and control images the chain used, as `inputTo` ingredients of the master."""
    ingredients, seen = [], set()
    for derivation in chain:
        for edge in graph.inputs.get(derivation.pk, []):
            if edge.role not in (Used.Role.REFERENCE, Used.Role.MASK, Used.Role.CONTROL_IMAGE, Used.Role.INIT_IMAGE,
                                 Used.Role.LAYER) or edge.version_id:
                continue
            blob = edge.reference.blob if edge.reference_id else edge.blob
            if blob.sha256 in seen or blob.media_type not in provenance.MEDIA_TYPES.values() or len(ingredients) >= limit:
                continue
            seen.add(blob.sha256)
            with blob_open(blob=blob) as handle:
                data = handle.read()
            ingredients.append(provenance.Ingredient(title=f"{edge.get_role_display()} {blob.sha256[:12]}", relationship="inputTo",
                                                     media_type=blob.media_type, data=data, label=f"input-{blob.sha256[:12]}"))
    return ingredients


def delivery_execute(*, delivery_id: int) -> str:
    """The worker's task: claim, check, QC, render, stamp, sign, verify, record and bundle; all or nothing."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return "skipped"
    staging = Path(settings.SEED_DELIVERY_DIR) / f".staging-{delivery.pk}-{delivery.claim_token}"
    created_blobs: list[str] = []
    final_dir: Path | None = None
    try:
        result = _execute(delivery, staging, created_blobs)
        if isinstance(result, Path):
            final_dir = result
            return "succeeded"
        return result
    except ApplicationError as exc:
        _fail(delivery, exc.message)
        return "failed"
    except Exception as exc:
        logger.exception("delivery %s failed", delivery_id)
        _fail(delivery, f"{type(exc).__name__}: {exc}")
        return "failed"
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if final_dir is None:
            for sha256 in created_blobs:
                blob_discard(sha256=sha256)


def _execute(delivery: Delivery, staging: Path, created_blobs: list[str]):
    master = delivery.version
    approval = _approval_check(master)
    graph = lineage_graph(version=master)
    chain = graph.chain()
    recipe = _generation(chain)
    presets = list(delivery.presets.order_by("position", "slug"))
    with blob_open(blob=master.blob) as handle, Image.open(handle) as opened:
        master_image = opened.convert("RGB")
    focal_point = getattr(master, "focal_point", None)
    focal = (focal_point.x, focal_point.y) if focal_point is not None else (0.5, 0.5)
    slate = {"title": master.brief.title, "palette": master.brief.palette,
             "lines": [f"{master.brief.campaign} · version v{master.pk} · sha256 {master.blob_id[:16]}",
                       f"Approved in round {approval.review_round.number} on {approval.created_at:%Y-%m-%d}",
                       *_recipe_lines(recipe)]}

    factor = _model_factor(chain)
    palette = master.brief.palette

    def render_checked(preset: ChannelPreset) -> tuple[renditions.Rendered, dict]:
        item = renditions.render(master=master_image, preset=preset, focal=focal, slate=slate)
        return item, renditions.qc_facts(rendered=item, palette=palette, upscaled_by=factor)

    with ThreadPoolExecutor(max_workers=settings.SEED_DELIVERY_THREADS) as pool:
        checked = list(pool.map(render_checked, presets))
    rendered, facts = [item for item, _ in checked], [fact for _, fact in checked]
    if not all(fact["passed"] for fact in facts) and not delivery.override_reason:
        failed = [f"{fact['preset']}: {', '.join(c['check'] for c in fact['checks'] if not c['passed'])}"
                  for fact in facts if not fact["passed"]]
        _fail(delivery, "QC failed (a producer may override with a reason): " + "; ".join(failed), state=Delivery.State.BLOCKED,
              qc=facts)
        return "blocked"

    now = timezone.now()
    stamp = _stamp(master=master, recipe=recipe, chain=chain, when=now)
    summary = lineage_summary(master=master, graph=graph, chain=chain, approval=approval)
    staging.mkdir(parents=True, exist_ok=True)
    with blob_open(blob=master.blob) as handle:
        master_bytes = handle.read()
    master_type = master.blob.media_type
    actions, parents = _actions(chain, graph)
    signed_master_path = provenance.sign_to_temp(
        data=master_bytes, media_type=master_type, directory=staging, ingredients=[*parents, *_input_ingredients(chain, graph)],
        manifest=provenance.manifest_build(title=f"v{master.pk}", media_type=master_type, actions=actions, lineage=summary),
    )
    master_ingredient = provenance.ingredient_archive(ingredient=provenance.Ingredient(
        title=f"approved master v{master.pk} ({master.blob_id[:12]})", relationship="parentOf", media_type=master_type,
        data=signed_master_path.read_bytes(), label="master"))
    seed = _seed(master, graph)
    taken: set[str] = set()
    files = []
    for step, (item, fact) in enumerate(zip(rendered, facts), start=1):
        preset = item.preset
        dominant = colour.hex_rgb(fact["dominant"])
        brand = colour.nearest_palette_colour(dominant, master.brief.palette)[0] if master.brief.palette else fact["dominant"]
        name = renditions.file_name(template=delivery.name_template, extension=preset.extension, taken=taken, values={
            "yyyymmdd": now.strftime("%Y%m%d"), "section": preset.section, "colour": colour.colour_name(colour.hex_rgb(brand)),
            "seed": seed if seed is not None else "noseed", "preset": preset.slug, "version": f"v{master.pk}",
            "width": preset.width, "height": preset.height, "client": master.brief.campaign.client.name, "brief": master.brief.title})
        icc = provenance.srgb_icc() if preset.colour_profile == ChannelPreset.Profile.SRGB else None
        unsigned = provenance.encode_stamped(item.image, image_format=preset.format, quality=preset.quality, stamp=stamp, icc=icc)
        actions = [{"action": "c2pa.opened", "parameters": {"ingredientIds": ["master"]}}]
        if item.crop != (0, 0, master.width, master.height):
            actions.append({"action": "c2pa.cropped", "description": f"around the focal point {focal}: box {list(item.crop)}"})
        actions.append({"action": "c2pa.resized", "description": f"to {preset.width}x{preset.height} for {preset.name}"})
        if preset.kind == ChannelPreset.Kind.PRESENTATION:
            actions.append({"action": "c2pa.edited", "description": "laid out on a presentation slate with its recipe"})
        actions.append({"action": "c2pa.published", "description": f"delivery {delivery.pk}, preset {preset.slug}"})
        # The chain itself is in the master's manifest, carried as this file's parent ingredient.
        variant_summary = {**{k: v for k, v in summary.items() if k != "chain"}, "delivery_id": delivery.pk, "preset": preset.slug,
                           "variant": {"width": preset.width, "height": preset.height, "format": preset.format,
                                       "crop": list(item.crop), "file_name": name}}
        signed = provenance.sign_to_temp(
            data=unsigned, media_type=preset.media_type, directory=staging, ingredients=[master_ingredient],
            manifest=provenance.manifest_build(title=name, media_type=preset.media_type, actions=actions, lineage=variant_summary),
        )
        final = staging / name
        os.replace(signed, final)
        files.append((item, fact, name, final, len(unsigned)))
        _progress(delivery, step)
    signed_master_path.unlink()
    return _record(delivery=delivery, master=master, master_image=master_image, files=files, facts=facts, graph=graph,
                   summary=summary, staging=staging, created_blobs=created_blobs)


def _record(*, delivery, master, master_image, files, facts, graph, summary, staging, created_blobs) -> Path:
    """Store the variants as versions made by rendition derivations, write the bundle, and move the folder into place."""
    report = {"delivery_id": delivery.pk, "version_id": master.pk, "sha256": master.blob_id, "override_reason": delivery.override_reason,
              "files": []}
    final_dir = Path(settings.SEED_DELIVERY_DIR) / str(delivery.pk)
    moved = False
    try:
        with transaction.atomic():
            moved = _record_rows(delivery=delivery, master=master, master_image=master_image, files=files, facts=facts,
                                 graph=graph, summary=summary, staging=staging, created_blobs=created_blobs, report=report,
                                 final_dir=final_dir)
    except BaseException:
        if moved:
            shutil.rmtree(final_dir, ignore_errors=True)
        raise
    return final_dir


def _record_rows(*, delivery, master, master_image, files, facts, graph, summary, staging, created_blobs, report, final_dir) -> bool:
    locked = Delivery.objects.select_for_update().get(pk=delivery.pk)
    if locked.state != Delivery.State.RUNNING or locked.claim_token != delivery.claim_token:
        raise ApplicationError(f"delivery {delivery.pk} was taken over by another worker; nothing recorded")
    Fingerprint.objects.get_or_create(version=master, defaults={"phash": perceptual_hash(master_image)})
    for item, fact, name, path, unsigned_size in files:
        preset = item.preset
        data = path.read_bytes()
        staged = StagedFile(path=path, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
        blob, created = blob_store(staged=staged, media_type=preset.media_type)
        if created:
            created_blobs.append(blob.sha256)
        # Every variant is a crop around the focal point; an outpaint preset only decides whether that may cut.
        derivation = derivation_create(
            brief=master.brief, op=Operation.RENDITION, phase=Phase.DELIVERY, state=Derivation.State.SUCCEEDED,
            params={"preset": preset.slug, "width": preset.width, "height": preset.height, "crop_rule": ChannelPreset.CropRule.FOCAL,
                    "crop": list(item.crop), "format": preset.format, "quality": preset.quality},
            inputs=[UsedInput(role=Used.Role.PARENT, target=master)], created_by=delivery.created_by)
        variant = Version.objects.create(brief=master.brief, blob=blob, width=preset.width, height=preset.height,
                                         format=preset.format, seed=master.seed, status=Version.Status.DELIVERED,
                                         label=name)
        Generated.objects.create(derivation=derivation, version=variant)
        DeliveryItem.objects.create(delivery=locked, preset=preset, version=variant, file_name=name, width=preset.width,
                                    height=preset.height, format=preset.format, size=len(data),
                                    manifest_bytes=len(data) - unsigned_size, manifest_state="trusted", qc=fact)
        Fingerprint.objects.create(version=variant, phash=perceptual_hash(item.image))
        report["files"].append({"file": name, "preset": preset.slug, "version_id": variant.pk, "sha256": blob.sha256,
                                "bytes": len(data), "manifest": "trusted", "manifest_bytes": len(data) - unsigned_size,
                                "qc": fact})
    bundle_name = f"delivery_{delivery.pk}_v{master.pk}.zip"
    bundle = _bundle_write(staging=staging, name=bundle_name, files=[name for _, _, name, _, _ in files],
                           report=report, lineage={"summary": summary, "graph": graph.as_dict()})
    finished = timezone.now()
    locked.state = Delivery.State.SUCCEEDED
    locked.qc = facts
    locked.folder = str(delivery.pk)
    locked.bundle_name = bundle_name
    locked.bundle_sha256, locked.bundle_size = bundle
    locked.finished_at = finished
    locked.wall_seconds = (finished - locked.started_at).total_seconds()
    locked.progress_step = locked.progress_total
    locked.error = ""
    locked.save(update_fields=["state", "qc", "folder", "bundle_name", "bundle_sha256", "bundle_size", "finished_at",
                               "wall_seconds", "progress_step", "error"])
    audit_event_append(kind="delivery.delivered", object_type="delivery", object_id=delivery.pk, actor=delivery.created_by,
                       payload={"files": [f["file"] for f in report["files"]], "bundle_sha256": locked.bundle_sha256})
    if final_dir.exists():
        raise ApplicationError(f"{final_dir} already exists; delivered files are never overwritten")
    os.rename(staging, final_dir)
    return True


def _bundle_write(*, staging: Path, name: str, files: list[str], report: dict, lineage: dict) -> tuple[str, int]:
    temp = staging / f".{name}.partial"
    with zipfile.ZipFile(temp, "w") as archive:
        for file_name in files:
            # Signed images are already compressed; storing them keeps the zip fast and the bytes identical.
            archive.write(staging / file_name, file_name, compress_type=zipfile.ZIP_STORED)
        archive.writestr("report.json", json.dumps(report, indent=2, default=str), compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("lineage.json", json.dumps(lineage, indent=2, default=str), compress_type=zipfile.ZIP_DEFLATED)
    data_hash = hashlib.sha256()
    with temp.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            data_hash.update(chunk)
    size = temp.stat().st_size
    os.replace(temp, staging / name)
    return data_hash.hexdigest(), size
