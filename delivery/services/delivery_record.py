"""Recording a delivery once its files are signed: variant versions with their rendition derivations, the
bundle, and the folder moved into place, all in one transaction that commits only while the claim holds."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from assets.content_codes import ContentCode
from assets.errors import ApplicationError
from assets.imagehash import perceptual_hash
from assets.models import Credential, Derivation, Generated, Phase, Used, Version
from assets.notification_kinds import NotificationKind
from assets.services.audit import audit_event_append
from assets.services.blobs import StagedFile
from assets.services.derivations import UsedInput, derivation_create
from assets.services.runs import RunScope, run_complete
from delivery.models import ChannelPreset, DeliveryItem, Fingerprint
from delivery.provenance import GENERATOR
from delivery.signing import Signed
from review.services.notifications import Message, absolute, notify_user, webhooks_notify


@dataclass(frozen=True)
class Sealed:
    """What signing a delivered file left for the manifest repository."""

    signed: Signed
    code: ContentCode


def delivery_record(
    *,
    delivery,
    master,
    master_image,
    files,
    facts,
    lineage: dict,
    summary,
    approval: dict,
    staging: Path,
    scope: RunScope,
) -> Path:
    """Store the variants as versions made by rendition derivations, write the bundle (`lineage` is its lineage.json),
    and move the folder into place."""
    final_dir = Path(settings.SEED_DELIVERY_DIR) / str(delivery.pk)
    moved = False
    try:
        with transaction.atomic():
            report = _rows_record(delivery=delivery, master=master, master_image=master_image, files=files, scope=scope)
            report.update(approval=approval, rights=summary["rights"], attribution=summary["attribution"])
            bundle = _bundle_store(
                delivery=delivery,
                master=master,
                files=files,
                report=report,
                lineage=lineage,
                staging=staging,
                scope=scope,
            )
            run_complete(
                row=delivery,
                qc=facts,
                folder=str(delivery.pk),
                **bundle,
                progress_step=delivery.progress_total,
                error="",
            )
            audit_event_append(
                kind="delivery.delivered",
                object_type="delivery",
                object_id=delivery.pk,
                actor=delivery.created_by,
                payload={"files": [f["file"] for f in report["files"]], "bundle_sha256": bundle["bundle_sha256"]},
            )
            _ready_notify(delivery=delivery, master=master, report=report)
            if final_dir.exists():
                raise ApplicationError(f"{final_dir} already exists; delivered files are never overwritten")
            os.rename(staging, final_dir)
            moved = True
    except BaseException:
        if moved:
            shutil.rmtree(final_dir, ignore_errors=True)
        raise
    return final_dir


def _ready_notify(*, delivery, master, report: dict) -> None:
    names = [item["file"] for item in report["files"]]
    message = Message(
        kind=NotificationKind.DELIVERY_READY,
        images=[master.blob_id],
        subject=NotificationKind.DELIVERY_READY.notice.subject_render(
            count=len(names), version=master.pk, brief=master.brief.title
        ),
        lines=[f"Delivery {delivery.pk} of v{master.pk} is signed and bundled:", *[f"• {name}" for name in names]],
        data={"delivery": delivery.pk, "version": master.pk, "files": names},
    )
    if delivery.created_by is not None:
        notify_user(
            user=delivery.created_by,
            message=message,
            key=f"delivery_ready:{delivery.pk}:user{delivery.created_by_id}",
            link=absolute(f"/admin/delivery/delivery/{delivery.pk}/change/"),
        )
    webhooks_notify(message=message, key=f"delivery_ready:{delivery.pk}", client_id=master.brief.campaign.client_id)


def _rows_record(*, delivery, master, master_image, files, scope: RunScope) -> dict:
    report = {
        "delivery_id": delivery.pk,
        "version_id": master.pk,
        "sha256": master.blob_id,
        "override_reason": delivery.override_reason,
        "files": [],
    }
    if not Fingerprint.objects.filter(version=master).exists():  # a re-delivery does not hash the 4096² master again
        Fingerprint.objects.get_or_create(version=master, defaults={"phash": perceptual_hash(master_image)})
    for item, fact, name, path, unsigned_size, sealed in files:
        data = path.read_bytes()
        blob = scope.blob_store(
            staged=StagedFile(path=path, sha256=hashlib.sha256(data).hexdigest(), size=len(data)),
            media_type=item.preset.media_type,
        )
        variant = _variant_version_create(delivery=delivery, master=master, item=item, blob=blob, name=name)
        report["files"].append(
            _delivery_item_record(
                delivery=delivery,
                item=item,
                fact=fact,
                name=name,
                variant=variant,
                size=len(data),
                manifest_bytes=len(data) - unsigned_size,
            )
        )
        _credential_record(variant=variant, item=item, sealed=sealed)
    return report


def _credential_record(*, variant: Version, item, sealed: Sealed) -> None:
    """Keep the delivered file's manifest store, so the file can be answered for once a platform strips it."""
    preset = item.preset
    Credential.objects.create(
        manifest_id=sealed.signed.manifest_id,
        version=variant,
        kind=Credential.Kind.DELIVERED,
        store=sealed.signed.store,
        file_sha256=variant.blob_id,
        media_type=preset.media_type,
        width=preset.width,
        height=preset.height,
        iscc=sealed.code.iscc,
        iscc_image=sealed.code.bits,
        claim_generator=f"{GENERATOR['name']} {GENERATOR['version']}",
    )


def _rendition_derivation_create(*, delivery, master, item) -> Derivation:
    preset = item.preset
    # Every variant is a crop around the focal point; an outpaint preset only decides whether that may cut.
    params = {
        "preset": preset.slug,
        "width": preset.width,
        "height": preset.height,
        "crop_rule": ChannelPreset.CropRule.FOCAL,
        "crop": list(item.crop),
        "format": preset.format,
        "quality": preset.quality,
        "colour_profile": preset.colour_profile,
    }
    inputs = [UsedInput(role=Used.Role.PARENT, target=master)]
    if preset.dpi:
        params["dpi"] = round(preset.dpi, 2)
    if preset.colour_profile == ChannelPreset.Profile.CMYK:
        params["rendering_intent"] = preset.rendering_intent
        inputs.append(UsedInput(role=Used.Role.PROFILE, target=preset.print_profile))
    return derivation_create(
        brief=master.brief,
        op="rendition",
        phase=Phase.DELIVERY,
        state=Derivation.State.SUCCEEDED,
        params=params,
        inputs=inputs,
        created_by=delivery.created_by,
    )


def _variant_version_create(*, delivery, master, item, blob, name: str) -> Version:
    """The delivered file as a version of the brief, made from the master by its rendition."""
    preset = item.preset
    derivation = _rendition_derivation_create(delivery=delivery, master=master, item=item)
    variant = Version.objects.create(
        brief=master.brief,
        blob=blob,
        width=preset.width,
        height=preset.height,
        format=preset.format,
        seed=master.seed,
        status=Version.Status.DELIVERED,
        label=name,
    )
    Generated.objects.create(derivation=derivation, version=variant)
    return variant


def _delivery_item_record(*, delivery, item, fact, name: str, variant, size: int, manifest_bytes: int) -> dict:
    """The delivery's row for one file, its fingerprint, and its entry in report.json."""
    preset = item.preset
    DeliveryItem.objects.create(
        delivery=delivery,
        preset=preset,
        version=variant,
        file_name=name,
        width=preset.width,
        height=preset.height,
        format=preset.format,
        size=size,
        manifest_bytes=manifest_bytes,
        manifest_state="trusted",
        qc=fact,
    )
    Fingerprint.objects.create(version=variant, phash=perceptual_hash(item.image))
    return {
        "file": name,
        "preset": preset.slug,
        "version_id": variant.pk,
        "sha256": variant.blob_id,
        "bytes": size,
        "manifest": "trusted",
        "manifest_bytes": manifest_bytes,
        "qc": fact,
    }


def _bundle_store(*, delivery, master, files, report: dict, lineage: dict, staging: Path, scope: RunScope) -> dict:
    """Zip the signed files with report.json and lineage.json, and store the zip: the delivery's bundle fields."""
    bundle_name = f"delivery_{delivery.pk}_v{master.pk}.zip"
    bundle_sha256, bundle_size = _bundle_write(
        staging=staging,
        name=bundle_name,
        files=[name for _, _, name, *_ in files],
        report=report,
        lineage=lineage,
    )
    bundle = scope.blob_store(
        staged=StagedFile(path=staging / bundle_name, sha256=bundle_sha256, size=bundle_size),
        media_type="application/zip",
    )
    return {"bundle_name": bundle_name, "bundle_sha256": bundle_sha256, "bundle_size": bundle_size, "bundle": bundle}


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
