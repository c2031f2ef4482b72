"""One asset's whole life, step by step, for the two-host test: the same steps run in one process on a
local blob folder (the baseline) and on worker hosts that share only Postgres and S3.

Each step queues work and returns the ids to wait for; `chain_report` reads what came out.
"""

from __future__ import annotations

import hashlib
import io
import zipfile

PROMPT = "a lemon soda can on a tin roof"
PARAMS = {
    "steps": 4,
    "cfg": 7.0,
    "width": 64,
    "height": 64,
    "sampler": "dpmpp_2m_karras",
    "seed": 4242,
    "batch_size": 1,
}
GRADE = {"exposure": 0.25, "contrast": 1.1, "saturation": 1.05, "temperature": 0.1}
PRESET = {"slug": "two-hosts-square", "name": "two hosts square", "width": 48, "height": 48, "section": "social"}


def chain_people(*, label: str) -> dict:
    from review.roles import CLIENT_REVIEWER, PRODUCER, roles_ensure
    from tests.factories import make_brief, member

    roles_ensure()
    brief = make_brief(client_name=f"Two hosts {label}", title=label)
    return {
        "brief": brief,
        "producer": member(f"{label}-producer", PRODUCER),
        "client": member(f"{label}-client", CLIENT_REVIEWER, brief.campaign.client),
    }


def chain_generate(*, brief, base, producer) -> int:
    from generation.requests import GenerationRequest
    from generation.services.jobs import generation_job_create

    job = generation_job_create(
        request=GenerationRequest(
            brief=brief,
            op="txt2img",
            base_model=base,
            prompt_text=PROMPT,
            params=PARAMS,
        ),
        created_by=producer,
    )
    return job.batches.get().derivation.pk


def chain_grade(*, version) -> int:
    from generation.services.finishing import finishing_create

    return finishing_create(version=version, op="grade", params=GRADE).pk


def chain_upscale(*, version) -> int:
    from generation.services.finishing import upscale_create

    return upscale_create(version=version, target_width=version.width * 2, target_height=version.height * 2).pk


def chain_deliver(*, version, producer, client) -> int:
    from delivery.models import ChannelPreset
    from delivery.services.deliveries import delivery_create
    from review.models import Decision, ReviewRound
    from review.services.rounds import decision_record, round_open

    review_round = round_open(
        brief=version.brief, versions=[version], stage=ReviewRound.Stage.CLIENT, opened_by=producer, reviewers=[client]
    )
    decision_record(review_round=review_round, version=version, verdict=Decision.Verdict.APPROVE, reviewer=client)
    preset, _ = ChannelPreset.objects.update_or_create(slug=PRESET["slug"], defaults=PRESET)
    return delivery_create(
        version=version,
        presets=[preset],
        created_by=producer,
        override_reason="tiny random model: no brand colours expected",
    ).pk


def chain_reproduce(*, version) -> int:
    from generation.services.reproductions import reproduction_request

    return reproduction_request(version=version).pk


def output_of(derivation_id: int):
    from assets.models import Version

    return Version.objects.get(generated_by__derivation_id=derivation_id)


def chain_report(*, generated: int, graded: int, upscaled: int, delivery: int, reproduction: int) -> dict:
    """What came out, as bytes anyone can compare: sha256 of each master, of each delivered file's pixels
    (the signed file itself carries a time and a signature), and the reproduction's verdict."""
    from django.core.files.storage import storages
    from PIL import Image

    from assets.models import Derivation
    from assets.services.blobs import blob_open
    from delivery.models import Delivery
    from generation.models import ReproductionRun

    delivered = Delivery.objects.get(pk=delivery)
    pixels = {}
    for item in delivered.items.select_related("version__blob", "preset"):
        with blob_open(blob=item.version.blob) as handle, Image.open(handle) as image:
            pixels[item.preset.slug] = hashlib.sha256(image.convert("RGB").tobytes()).hexdigest()
    with storages["blobs"].open(delivered.bundle.storage_name, "rb") as handle:
        bundle = handle.read()
    run = ReproductionRun.objects.get(pk=reproduction)
    steps = {"generated": generated, "graded": graded, "upscaled": upscaled}
    # Besides the recipe, these decide the bytes: where the masters differ, the report says whether a setting did.
    environments = {step: Derivation.objects.get(pk=pk).environment for step, pk in steps.items()}
    return {
        **{step: output_of(pk).blob_id for step, pk in steps.items()},
        "environments": {
            step: {field: environment.get(field) for field in ("threads", "cpu_capability", "onednn_max_cpu_isa")}
            for step, environment in environments.items()
        },
        "delivery_state": delivered.state,
        "delivery_error": delivered.error,
        "delivered_pixels": pixels,
        "bundle_ok": hashlib.sha256(bundle).hexdigest() == delivered.bundle_sha256,
        "bundle_members": sorted(zipfile.ZipFile(io.BytesIO(bundle)).namelist()),
        "reproduction": run.result.get("verdict", run.state),
    }
