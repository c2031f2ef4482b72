"""Deliver an approved master: QC every preset, render, stamp EXIF, sign C2PA, record, bundle.

`delivery_create` and `delivery_override` run in the web process; `delivery_execute` is the worker's
task, run through the one run lifecycle. A delivery either produces every file, signed and read back
as Trusted, or nothing at all. Rendering and QC live in delivery.services.qc, each file's name, pixels and claim
in delivery.services.variants.
"""

from __future__ import annotations

import hashlib
import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from PIL import Image

from assets.content_codes import content_code
from assets.errors import ApplicationError
from assets.models import Version
from assets.rights import version_rights
from assets.selectors import lineage_graph
from assets.services.audit import audit_event_append
from assets.services.blobs import blob_hash, blob_open
from assets.services.queues import Queue
from assets.services.runs import RunScope, run_enqueue, run_guarded, run_progress
from delivery import provenance, renditions, signing
from delivery.models import DEFAULT_NAME_TEMPLATE, ChannelPreset, Delivery
from delivery.selectors import version_focal
from delivery.services.delivery_record import Sealed, delivery_record
from delivery.services.lineage_facts import (
    bundle_lineage,
    chain_actions,
    generation_recipe,
    input_ingredients,
    lineage_carried,
    lineage_summary,
    model_factor,
    prompts_withheld,
    seed_of,
)
from delivery.services.qc import qc_block, renditions_check, rights_check
from delivery.services.stamps import by_exposure, stamp_build
from delivery.services.variants import (
    print_profiles_read,
    variant_actions_build,
    variant_colour_convert,
    variant_lineage_build,
    variant_names_choose,
)
from review.selectors import approval_attestation, version_final_approval

OVERRIDE_PERMISSION = "delivery.override_qc"


def _approval_check(version: Version, data: bytes | None = None):
    """The version's final approval of its current bytes, and the stored bytes (or `data`, read from them)
    still hash to them."""
    approval = version_final_approval(version=version)
    if approval is None:
        raise ApplicationError(
            f"version {version.pk} has no final (client) approval of its current bytes; "
            "only approved masters are delivered",
            extra={"code": "not_approved"},
        )
    stored = blob_hash(sha256=version.blob_id) if data is None else hashlib.sha256(data).hexdigest()
    if stored != approval.sha256:
        raise ApplicationError(
            f"version {version.pk}'s stored bytes no longer match what was approved "
            f"(approved {approval.sha256[:12]}, stored {(stored or 'missing')[:12]}): it cannot be delivered",
            extra={"code": "changed_since_approval"},
        )
    return approval


def delivery_create(
    *,
    version: Version,
    presets: list[ChannelPreset] | None = None,
    name_template: str = DEFAULT_NAME_TEMPLATE,
    override_reason: str = "",
    created_by=None,
) -> Delivery:
    """Queue one delivery of an approved master to `presets` (all active ones when None)."""
    renditions.name_template_check(name_template)
    chosen = list(ChannelPreset.objects.filter(active=True)) if presets is None else list(presets)
    _presets_check(chosen)
    override_reason = override_reason.strip()
    if override_reason and not (created_by is not None and created_by.has_perm(OVERRIDE_PERMISSION)):
        raise ApplicationError("only a producer may override QC", extra={"code": "permission"})
    with transaction.atomic():
        version = Version.objects.select_for_update().get(pk=version.pk)
        approval = _approval_check(version)
        now = timezone.now()
        delivery = Delivery.objects.create(
            version=version,
            approval=approval,
            name_template=name_template,
            created_by=created_by,
            progress_total=len(chosen),
            override_reason=override_reason,
            overridden_by=created_by if override_reason else None,
            overridden_at=now if override_reason else None,
        )
        delivery.presets.set(chosen)
        audit_event_append(
            kind="delivery.requested",
            object_type="delivery",
            object_id=delivery.pk,
            actor=created_by,
            payload={
                "version": version.pk,
                "sha256": version.blob_id,
                "presets": [p.slug for p in chosen],
                "override_reason": override_reason,
            },
        )
        run_enqueue(
            task="delivery.tasks.run_delivery", model=Delivery, pk=delivery.pk, kind="delivery", queue=Queue.CPU
        )
    return delivery


def _presets_check(chosen: list[ChannelPreset]) -> None:
    """At least one preset, each switched on, valid, and with a print profile where it converts to CMYK."""
    if not chosen:
        raise ApplicationError("choose at least one preset")
    inactive = [preset.slug for preset in chosen if not preset.active]
    if inactive:
        raise ApplicationError(f"preset(s) switched off: {', '.join(inactive)}")
    for preset in chosen:
        try:
            preset.clean()
        except ValidationError as exc:
            raise ApplicationError(
                f"preset {preset.slug}: {'; '.join(exc.messages)}", extra={"code": "preset_invalid"}
            ) from exc
        if preset.colour_profile == ChannelPreset.Profile.CMYK and preset.print_profile_id is None:
            raise ApplicationError(
                f"preset {preset.slug} is CMYK but has no print profile to convert through: upload the "
                "printer's profile on the preset (admin: Delivery → Channel presets)",
                extra={"code": "preset_invalid"},
            )


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
            state=Delivery.State.QUEUED, override_reason=reason, overridden_by=user, overridden_at=now, error=""
        )
        if not updated:
            raise ApplicationError(f"delivery {delivery.pk} is not blocked by QC", extra={"code": "not_blocked"})
        failed = [
            {"preset": fact["preset"], "checks": [c["check"] for c in fact["checks"] if not c["passed"]]}
            for fact in delivery.qc
            if not fact.get("passed", True)
        ]
        audit_event_append(
            kind="delivery.qc_overridden",
            object_type="delivery",
            object_id=delivery.pk,
            actor=user,
            payload={"reason": reason, "failed": failed},
        )
        run_enqueue(
            task="delivery.tasks.run_delivery", model=Delivery, pk=delivery.pk, kind="delivery", queue=Queue.CPU
        )
    delivery.refresh_from_db()
    return delivery


def delivery_execute(*, delivery_id: int) -> str:
    """The worker's task: claim, check, QC, render, stamp, sign, verify, record and bundle; all or nothing."""
    return run_guarded(
        model=Delivery,
        pk=delivery_id,
        work=_deliver,
        fields={"progress_step": 0},
        related=("version__brief__campaign__client", "approval__review_round"),
    )


def _deliver(delivery: Delivery, scope: RunScope) -> str:
    master = delivery.version
    with blob_open(blob=master.blob) as handle:
        master_bytes = handle.read()
    approval = _approval_check(master, data=master_bytes)
    graph = lineage_graph(version=master)
    chain = graph.chain()
    withheld = prompts_withheld(graph=graph)
    recipe = generation_recipe(chain, withheld=withheld)
    presets = list(delivery.presets.order_by("position", "slug"))
    master_image = master_decode(data=master_bytes)
    focal = version_focal(version=master)
    rendered, facts = renditions_check(
        master=master,
        master_image=master_image,
        presets=presets,
        focal=focal,
        approval=approval,
        recipe=recipe,
        chain=chain,
        upscaled_by=model_factor(chain),
    )
    inherited = version_rights(version=master)
    rights = rights_check(inherited=inherited, master=master)
    for fact in facts:
        fact["checks"].append(rights)
        fact["passed"] = fact["passed"] and rights["passed"]
    if not all(fact["passed"] for fact in facts) and not delivery.override_reason:
        qc_block(delivery=delivery, facts=facts)
        return "blocked"
    _variants_publish(
        delivery=delivery,
        scope=scope,
        master=master,
        master_image=master_image,
        approval=approval,
        graph=graph,
        chain=chain,
        withheld=withheld,
        recipe=recipe,
        inherited=inherited,
        rendered=rendered,
        facts=facts,
        focal=focal,
    )
    return "succeeded"


def master_decode(*, data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as opened:
        # A cut-out keeps its transparency into the formats that carry it (PNG, WebP, AVIF, TIFF).
        return opened.convert("RGBA" if opened.has_transparency_data else "RGB")


def _variants_publish(
    *,
    delivery: Delivery,
    scope: RunScope,
    master: Version,
    master_image: Image.Image,
    approval,
    graph,
    chain,
    withheld,
    recipe,
    inherited,
    rendered,
    facts,
    focal,
) -> None:
    """Sign every rendition with the master's provenance, then record the delivery and bundle its files."""
    now = timezone.now()
    summary = lineage_summary(
        master=master, graph=graph, chain=chain, approval=approval, rights=inherited, withheld=withheld
    )
    attestation = approval_attestation(approval=approval)
    ai_use = signing.training_mining(use=master.brief.ai_training)
    staging = scope.scratch_add(Path(settings.SEED_DELIVERY_DIR) / f".staging-{delivery.pk}-{delivery.claim_token}")
    staging.mkdir(parents=True, exist_ok=True)
    chain_steps, ingredients = _ingredients_archive(chain=chain, graph=graph)
    presets = [item.preset for item in rendered]
    files = _variants_sign(
        delivery=delivery,
        master=master,
        rendered=rendered,
        facts=facts,
        staging=staging,
        when=now,
        stamps=by_exposure(
            presets, lambda e: stamp_build(master=master, recipe=recipe, chain=chain, when=now, exposure=e)
        ),
        carried=by_exposure(presets, lambda e: lineage_carried(summary, exposure=e)),
        chain_steps=chain_steps,
        ingredients=ingredients,
        seed=seed_of(master, graph),
        focal=focal,
        approval=attestation,
        ai_use=ai_use,
    )
    delivery_record(
        delivery=delivery,
        master=master,
        master_image=master_image,
        files=files,
        facts=facts,
        lineage=bundle_lineage(summary=summary, graph=graph, withheld=withheld, presets=presets),
        summary=summary,
        approval=attestation,
        staging=staging,
        scope=scope,
    )


def _ingredients_archive(*, chain, graph) -> tuple[list[dict], list]:
    """One claim per delivered file: its actions are the recorded chain, then the crop and resize that made it; the
    inputs that carry content (an imported start, references, masks) are read once here and cited by every file."""
    chain_steps, parents = chain_actions(chain, graph)
    ingredients = [signing.ingredient_archive(ingredient=item) for item in [*parents, *input_ingredients(chain, graph)]]
    return chain_steps, ingredients


def _content_code_of(data: bytes):
    """The code of the file as anyone decodes it, not of the pixels before encoding: the soft binding must be what a
    validator computes from the delivered file."""
    with Image.open(io.BytesIO(data)) as encoded:
        return content_code(encoded)


def _variants_sign(
    *,
    delivery: Delivery,
    master: Version,
    rendered,
    facts,
    staging: Path,
    when,
    stamps: dict,
    carried: dict,
    chain_steps: list[dict],
    ingredients: list,
    seed,
    focal,
    approval: dict,
    ai_use: dict,
) -> list[tuple]:
    """Name, encode, stamp and sign each rendition in the staging folder; encoding and signing run on the delivery
    threads, as Pillow and the C2PA library both work outside the interpreter lock."""
    planned = variant_names_choose(
        delivery=delivery, master=master, rendered=rendered, facts=facts, when=when, seed=seed
    )
    print_profiles = print_profiles_read(rendered=rendered)

    def sign(plan: tuple) -> tuple:
        item, fact, name = plan
        preset = item.preset
        pixels, icc = variant_colour_convert(item=item, print_profiles=print_profiles)
        unsigned = provenance.encode_stamped(
            pixels, image_format=preset.format, quality=preset.quality, stamp=stamps[preset.pk], icc=icc, dpi=preset.dpi
        )
        code = _content_code_of(unsigned)
        signed = signing.sign_to_temp(
            data=unsigned,
            media_type=preset.media_type,
            directory=staging,
            ingredients=ingredients,
            manifest=signing.manifest_build(
                title=name,
                media_type=preset.media_type,
                actions=variant_actions_build(
                    item=item, chain_steps=chain_steps, master=master, focal=focal, delivery=delivery
                ),
                lineage=variant_lineage_build(item=item, name=name, carried=carried[preset.pk], delivery=delivery),
                approval=approval,
                ai_use=ai_use,
                soft_binding=code,
            ),
        )
        final = staging / name
        os.replace(signed.path, final)
        return item, fact, name, final, len(unsigned), Sealed(signed=signed, code=code)

    files = []
    with ThreadPoolExecutor(max_workers=settings.SEED_DELIVERY_THREADS) as pool:
        for step, signed in enumerate(pool.map(sign, planned), start=1):
            files.append(signed)
            run_progress(row=delivery, step=step)
    return files
