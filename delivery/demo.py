"""The demo's delivery stage: upscale and palette-snap the approved master, sign off the finish, deliver, verify."""

from __future__ import annotations

import io
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image

from assets.demo import worker_wait
from assets.errors import ApplicationError
from assets.models import Derivation, ModelWeights, Version
from assets.rights import version_rights
from delivery.keys import dev_ca_create, signing_problems
from delivery.models import ChannelPreset, Delivery
from delivery.sample_icc import sample_cmyk_profile
from delivery.selectors import file_verify
from delivery.services.deliveries import delivery_create, delivery_override
from delivery.services.presets import default_presets_ensure, preset_print_profile_set
from delivery.services.proofs import proof_ensure
from generation.services.finishing import palette_snap_create, upscale_create
from review.models import Decision, ReviewRound
from review.selectors import version_final_approval
from review.services.rounds import decision_record, round_open

DEMO_OVERRIDE = "demo: tiny random-weight models make 72x128 masters, far smaller than full-size slots"


def signer_ensure() -> str:
    """The delivery stage signs files: make the development signer where the settings expect it (SEED_DEV_KEYS_DIR).

    Signer settings pointing anywhere else are never written to; their problems stop the demo before any work.
    """
    problems = signing_problems()
    made = ""
    if problems and Path(settings.SEED_C2PA_CERT).parent == Path(settings.SEED_DEV_KEYS_DIR):
        dev_ca_create(folder=Path(settings.SEED_DEV_KEYS_DIR))
        made = f"development C2PA signer made in {settings.SEED_DEV_KEYS_DIR}"
        problems = signing_problems()
    if problems:
        raise ApplicationError(
            "the demo signs its deliveries, but the C2PA signer is not usable: "
            + "; ".join(f"{setting}: {problem}" for setting, problem in problems.items())
        )
    return made


def _finished(derivation: Derivation) -> Version:
    def check():
        derivation.refresh_from_db()
        if derivation.state == Derivation.State.SUCCEEDED:
            return derivation.generated.get().version
        if derivation.state in (Derivation.State.FAILED, Derivation.State.CANCELLED):
            raise ApplicationError(f"demo {derivation.op} failed: {derivation.error}")
        return None

    return worker_wait(check, f"the {derivation.op}")


def _settled(delivery: Delivery) -> Delivery:
    def check():
        delivery.refresh_from_db()
        return delivery if delivery.state not in (Delivery.State.QUEUED, Delivery.State.RUNNING) else None

    return worker_wait(check, f"delivery {delivery.pk}")


def _finish(master: Version, user) -> Version:
    """Upscale for the hero slot with the compact general model, then snap to the palette (reusing earlier runs)."""
    earlier = Version.objects.filter(
        generated_by__derivation__op="lut",
        generated_by__derivation__used__version__generated_by__derivation__op="upscale",
        generated_by__derivation__used__version__generated_by__derivation__used__version=master,
        generated_by__derivation__state=Derivation.State.SUCCEEDED,
    ).first()
    if earlier is not None:
        return earlier
    hero = ChannelPreset.objects.get(slug="hero")
    general = ModelWeights.objects.get(
        kind=ModelWeights.Kind.UPSCALER, architecture=ModelWeights.Architecture.COMPACT, scale=4
    )
    upscaled = _finished(
        upscale_create(
            version=master, target_width=hero.width, target_height=hero.height, upscaler=general, created_by=user
        )
    )
    return _finished(palette_snap_create(version=upscaled, pull=0.6, created_by=user))


def _print_preset_ensure() -> ChannelPreset:
    """An A5 print slot in CMYK TIFF for the demo, converted through the sample profile
    (a studio uploads its printer's)."""
    preset, _ = ChannelPreset.objects.get_or_create(
        slug="print-a5-cmyk",
        defaults={
            "name": "Print A5, CMYK TIFF (sample profile)",
            "width": 1748,
            "height": 2480,
            "format": ChannelPreset.Format.TIFF,
            "colour_profile": ChannelPreset.Profile.CMYK,
            "section": "print",
            "print_width_mm": 148,
            "position": 8,
        },
    )
    if preset.print_profile_id is None:
        preset_print_profile_set(preset=preset, source=ContentFile(sample_cmyk_profile(), name="seed-sample-cmyk.icc"))
    return preset


def _proof_summary(version: Version, preset: ChannelPreset) -> dict:
    """The soft proof of the finished master through the print preset (rendered now, so the page opens at once), the
    share of it out of the press's gamut, and where the slots it fills are shown."""
    proof = proof_ensure(
        version=version, preset=preset, intent=preset.rendering_intent, black_point=True, paper_white=False
    )
    return {
        "soft_proof": {
            "page": f"{reverse('version-proof', args=[version.pk])}?preset={preset.slug}",
            "out_of_gamut_percent": proof.out_of_gamut_percent,
        },
        "slots": reverse("version-slots", args=[version.pk]),
    }


def _stripped_copies_traced(delivery: Delivery) -> dict:
    """What a platform makes of each delivered file (metadata gone, 90 %, JPEG q80), and which file verify names from
    the soft binding alone: the file itself, or it among the same crop delivered at another size."""
    traced, alike, files = 0, 0, {}
    for item in delivery.items.order_by("pk"):
        with Image.open(Path(settings.SEED_DELIVERY_DIR) / delivery.folder / item.file_name) as image:
            copy = image.convert("RGB").resize((round(image.width * 0.9), round(image.height * 0.9)))
        buffer = io.BytesIO()
        copy.save(buffer, format="JPEG", quality=80)
        found = file_verify(data=buffer.getvalue())
        traced += found.version_id == item.version_id
        alike += item.version_id in found.alike
        files[item.file_name] = found.file_name if found.version_id else None
    return {"traced": traced, "among_same_picture": alike, "of": len(files), "found": files}


def delivery_stage(*, context: dict) -> dict:
    user = context["user"]
    default_presets_ensure()
    print_preset = _print_preset_ensure()
    finished = _finish(context["approved_master"], user)
    if version_final_approval(version=finished) is None:
        client_user = get_user_model().objects.get(username="cleo.client")
        final_look = round_open(
            brief=finished.brief,
            versions=[finished],
            stage=ReviewRound.Stage.CLIENT,
            opened_by=user,
            reviewers=[client_user],
            title="Final look after upscale and palette snap",
        )
        decision_record(
            review_round=final_look,
            version=finished,
            verdict=Decision.Verdict.APPROVE,
            reviewer=client_user,
            comment="Finish approved for delivery.",
        )
    delivery = Delivery.objects.filter(version=finished, state=Delivery.State.SUCCEEDED).first()
    if delivery is None:
        delivery = _settled(delivery_create(version=finished, created_by=user))
        if delivery.state == Delivery.State.BLOCKED:
            delivery = _settled(delivery_override(delivery=delivery, reason=DEMO_OVERRIDE, user=user))
        if delivery.state != Delivery.State.SUCCEEDED:
            raise ApplicationError(f"demo delivery {delivery.pk} {delivery.state}: {delivery.error}")
    first = delivery.items.order_by("pk").first()
    path = Path(settings.SEED_DELIVERY_DIR) / delivery.folder / first.file_name
    verification = file_verify(data=path.read_bytes())
    return {
        "finished_master": finished.pk,
        "size": f"{finished.width}x{finished.height}",
        "delivery": delivery.pk,
        "files": [item.file_name for item in delivery.items.order_by("pk")],
        "print_file": delivery.items.filter(preset__slug="print-a5-cmyk").values_list("file_name", flat=True).first(),
        "folder": str(path.parent),
        "bundle": str(path.parent / delivery.bundle_name),
        "qc_override": delivery.override_reason or None,
        "verify": {
            "file": first.file_name,
            **{k: verification.as_dict()[k] for k in ("manifest", "match", "version_id", "delivery_id")},
            "approval": verification.approval_statement,
        },
        "stripped_copies": _stripped_copies_traced(delivery),
        **_proof_summary(finished, print_preset),
        "rights": [
            {"licence": item.licence.name, "attribution": item.licence.attribution}
            for item in version_rights(version=finished)
        ],
    }
