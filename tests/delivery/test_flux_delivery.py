"""A FLUX.1 [dev] master through review and delivery: the model's non-commercial licence stops commercial work at QC
until a producer overrides it, and the delivered file's credentials carry the FLUX recipe."""

import json
import zipfile
from pathlib import Path

from django.conf import settings
from PIL import Image

from assets.services.licences import licence_save
from delivery.models import Delivery
from delivery.selectors import file_verify
from delivery.services.deliveries import delivery_create, delivery_override
from generation.requests import GenerationRequest
from generation.services.jobs import generation_job_create
from tests.delivery.conftest import approve
from tests.delivery.test_delivery_flow import delivered_files, small_preset


def test_a_flux_dev_master_is_blocked_as_non_commercial_until_overridden_and_then_delivered(people, tiny, run_jobs):
    licence_save(
        values={
            "name": "FLUX.1 [dev] Non-Commercial License",
            "commercial_use": False,
            "attribution": "FLUX.1 [dev] by Black Forest Labs",
            "model_weights": [tiny["flux"]],
        }
    )
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=people["brief"],
                op="txt2img",
                base_model=tiny["flux"],
                prompt_text="<lora:FluxPortraitTrainer:0.7> a can of Citrus Wave on a dune",
                negative_prompt="",
                params={"steps": 3, "width": 48, "height": 80, "seed": 5, "batch_size": 1},
            ),
            created_by=people["producer"],
        )
    master = job.batches.get().derivation.generated.get().version
    approve(master, producer=people["producer"], client_user=people["client"])
    with run_jobs():
        delivery = delivery_create(
            version=master, presets=[small_preset(width=96, height=96)], created_by=people["producer"]
        )
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.BLOCKED and "rights" in delivery.error
    [fact] = delivery.qc
    rights = next(check for check in fact["checks"] if check["check"] == "rights")
    assert "FLUX.1 [dev] Non-Commercial License does not allow commercial use" in rights["detail"]
    assert "Tiny FLUX.1" in rights["detail"]

    with run_jobs():
        delivery_override(
            delivery=delivery, reason="BFL commercial licence bought, order 2207", user=people["producer"]
        )
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED, delivery.error
    with zipfile.ZipFile(Path(settings.SEED_DELIVERY_DIR) / delivery.folder / delivery.bundle_name) as bundle:
        report = json.loads(bundle.read("report.json"))
    assert report["attribution"] == ["FLUX.1 [dev] by Black Forest Labs"]
    [path] = delivered_files(delivery)
    verified = file_verify(data=path.read_bytes())
    assert verified.manifest == "trusted"
    assert verified.match == "exact" and verified.delivery_id == delivery.pk
    with Image.open(path) as image:
        exif = image.getexif()
    # The caption is the prompt as read; the A1111/Forge parameters carry the LoRA tag and the distilled guidance.
    assert exif[270] == "a can of Citrus Wave on a dune"
    parameters = exif.get_ifd(0x8769)[37510][8:].decode("utf-16-be")
    assert "<lora:FluxPortraitTrainer:0.7>" in parameters and "Distilled CFG Scale: 3.5" in parameters
