"""Rights at delivery (QC, report, manifest, expiry notices) and the approval inside the content credentials."""

import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from PIL import Image

from assets.models import AuditEvent
from assets.services.licences import licence_save
from delivery.models import Delivery
from delivery.provenance import c2pa_context
from delivery.selectors import file_verify
from delivery.services.deliveries import delivery_create, delivery_override
from delivery.services.rights_watch import licence_expiry_check
from review.models import Notification
from tests.delivery.test_delivery_flow import delivered_files, small_preset


def _deliver(version, producer, run_jobs, **kwargs):
    with run_jobs():
        delivery = delivery_create(
            version=version, presets=[small_preset(width=96, height=96)], created_by=producer, **kwargs
        )
    delivery.refresh_from_db()
    return delivery


def _rights_check(delivery):
    [fact] = delivery.qc
    return next(check for check in fact["checks"] if check["check"] == "rights")


@pytest.fixture
def lora_terms(tiny):
    return licence_save(
        values={
            "name": "CC BY-NC 4.0",
            "spdx_id": "CC-BY-NC-4.0",
            "commercial_use": False,
            "attribution": "Tiny style A by Jo Doe (CC BY-NC 4.0)",
            "model_weights": [tiny["lora_a"]],
        }
    )


def test_a_non_commercial_lora_blocks_commercial_work_until_a_producer_overrides(people, master, lora_terms, run_jobs):
    delivery = _deliver(master, people["producer"], run_jobs)
    assert delivery.state == Delivery.State.BLOCKED and "rights" in delivery.error
    check = _rights_check(delivery)
    assert not check["passed"] and check["licences"] == ["CC BY-NC 4.0"]
    assert "does not allow commercial use" in check["detail"] and "Tiny style A" in check["detail"]
    assert delivery.folder == "" and not delivery.items.exists()

    with run_jobs():
        delivery_override(
            delivery=delivery, reason="client bought a commercial licence from Jo, PO 1142", user=people["producer"]
        )
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED, delivery.error
    overridden = AuditEvent.objects.get(kind="delivery.qc_overridden", object_id=delivery.pk)
    assert any("rights" in failed["checks"] for failed in overridden.payload["failed"])
    with zipfile.ZipFile(Path(settings.SEED_DELIVERY_DIR) / delivery.folder / delivery.bundle_name) as bundle:
        report = json.loads(bundle.read("report.json"))
    assert report["attribution"] == ["Tiny style A by Jo Doe (CC BY-NC 4.0)"]
    assert report["rights"][0]["licence"] == "CC BY-NC 4.0" and report["approval"]["client"] == "Aurora Soda Co."
    [path] = delivered_files(delivery)
    verified = file_verify(data=path.read_bytes())
    assert verified.manifest == "trusted"


def test_a_licence_that_ran_out_blocks_delivery_even_for_non_commercial_work(people, master, tiny, run_jobs):
    licence_save(
        values={
            "name": "Stock until last week",
            "commercial_use": True,
            "expires_on": timezone.localdate() - timedelta(days=7),
            "model_weights": [tiny["base"]],
        }
    )
    delivery = _deliver(master, people["producer"], run_jobs, override_reason="")
    check = _rights_check(delivery)
    assert delivery.state == Delivery.State.BLOCKED and not check["passed"]
    assert [p["problem"] for p in check["problems"]] == ["expired"]


def test_the_delivered_file_carries_its_approval_and_verify_names_it(people, master, run_jobs, tmp_path, capsys):
    import c2pa

    delivery = _deliver(master, people["producer"], run_jobs, override_reason="tiny model: no brand colours expected")
    assert delivery.state == Delivery.State.SUCCEEDED, delivery.error
    [path] = delivered_files(delivery)
    data = path.read_bytes()
    # Read back by the c2pa library itself, not through our reader.
    with c2pa.Reader("image/jpeg", io.BytesIO(data), context=c2pa_context()) as reader:
        store = json.loads(reader.json())
        assert reader.get_validation_state().lower() == "trusted"
    assertions = {a["label"]: a["data"] for a in store["manifests"][store["active_manifest"]]["assertions"]}
    approval = assertions["com.seed.approval"]
    day = delivery.approval.created_at.date().isoformat()
    assert approval == {
        "client": "Aurora Soda Co.",
        "brief": "Citrus Wave launch",
        "round": 1,
        "stage": "client",
        "rule": "all",
        "approved_by": [{"role": "client reviewer", "organisation": "Aurora Soda Co."}],
        "approved_at": delivery.approval.created_at.isoformat(),
        "master_sha256": master.blob_id,
        "version_id": master.pk,
    }
    assert "cleo" not in json.dumps(approval) and "@" not in json.dumps(approval)
    assert assertions["cawg.training-mining"]["entries"]["cawg.ai_generative_training"] == {"use": "notAllowed"}

    result = file_verify(data=data)
    assert result.approval["pixels"] == "exact"
    assert result.approval_statement == (
        f"approved by Aurora Soda Co. (client reviewer) in round 1 (client stage) on {day} for these exact pixels"
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.factories import api_as

    answer = api_as(people["client"]).post(
        "/api/verify/", {"file": SimpleUploadedFile("a.jpg", data)}, format="multipart"
    )
    assert answer.status_code == 200 and answer.json()["approval_statement"] == result.approval_statement
    assert answer.json()["approval"]["master_sha256"] == master.blob_id
    copy = tmp_path / "from-the-client.jpg"
    copy.write_bytes(data)
    call_command("verify", str(copy))
    assert "for these exact pixels" in capsys.readouterr().out

    with Image.open(io.BytesIO(data)) as image:
        edited = image.convert("RGB")
    edited.putpixel((3, 3), (255, 0, 255))
    buffer = io.BytesIO()
    edited.save(buffer, format="JPEG", quality=80)
    changed = file_verify(data=buffer.getvalue())
    assert changed.match == "soft_binding" and changed.approval["pixels"] == "changed"
    assert "no longer match what was delivered from the approved master" in changed.approval_statement


def test_an_allowed_brief_says_so_to_crawlers(people, master, run_jobs):
    brief = master.brief
    brief.ai_training = brief.AiUse.ALLOWED
    brief.save(update_fields=["ai_training"])
    delivery = _deliver(master, people["producer"], run_jobs, override_reason="tiny model")
    [path] = delivered_files(delivery)
    from delivery.provenance import manifest_read

    report = manifest_read(data=path.read_bytes(), media_type="image/jpeg")
    mining = next(a["data"] for a in report.manifest["assertions"] if a["label"] == "cawg.training-mining")
    assert {entry["use"] for entry in mining["entries"].values()} == {"allowed"}


def test_producers_hear_once_of_deliveries_whose_licence_runs_out(
    people, master, tiny, run_jobs, client, django_assert_num_queries
):
    terms = licence_save(
        values={
            "name": "Base model lease",
            "commercial_use": True,
            "expires_on": timezone.localdate() + timedelta(days=60),
            "model_weights": [tiny["base"]],
        }
    )
    delivery = _deliver(master, people["producer"], run_jobs, override_reason="tiny model")
    assert delivery.state == Delivery.State.SUCCEEDED
    from delivery.selectors import deliveries_inheriting

    with django_assert_num_queries(1):  # "every delivery that inherits licence X" is one statement
        assert [d.pk for d in deliveries_inheriting(licences=[terms.pk])] == [delivery.pk]
    assert licence_expiry_check() == 0  # 60 days out: not yet
    terms.expires_on = timezone.localdate() + timedelta(days=10)
    terms.save(update_fields=["expires_on"])
    assert licence_expiry_check() == 1
    assert licence_expiry_check() == 0  # a second run, or a second scheduler, tells nobody twice
    notice = Notification.objects.get(kind="licence_expiry")
    assert notice.recipient == people["producer"] and f"delivery {delivery.pk}" in notice.text
    assert "Base model lease expires on" in notice.subject
    client.force_login(people["producer"])
    listing = client.get(
        f"/admin/delivery/delivery/?licence_expiring={settings.SEED_LICENCE_WARN_DAYS}"
    ).content.decode()
    assert f"delivery #{delivery.pk} of" in listing
    assert (
        f"delivery #{delivery.pk} of" not in client.get("/admin/delivery/delivery/?licence_expiring=0").content.decode()
    )


def test_an_imported_master_is_cited_as_the_parent_of_every_delivered_file(people, run_jobs):
    """An outside file (here a retouch made from a stock reference) opens the chain: each delivered file's one claim
    cites it as parentOf and the reference as inputTo, read once for the whole delivery."""
    from assets.services.briefs import reference_create
    from assets.services.versions import version_import
    from delivery.provenance import manifest_read
    from tests.delivery.conftest import approve
    from tests.factories import image_file

    brief = people["brief"]
    stock = reference_create(
        brief=brief, source=image_file("stock.png", size=(64, 64), colour=(0, 224, 255)), title="stock"
    )
    retouch = version_import(
        brief=brief,
        source=image_file("retouch.png", size=(256, 256), colour=(254, 44, 84)),
        references=[stock],
        created_by=people["producer"],
    )
    approve(retouch, producer=people["producer"], client_user=people["client"])
    with run_jobs():
        delivery = delivery_create(
            version=retouch,
            presets=[small_preset(width=96, height=96), small_preset("wide", 128, 72)],
            created_by=people["producer"],
            override_reason="flat test colours",
        )
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED, delivery.error
    for path in delivered_files(delivery):
        report = manifest_read(data=path.read_bytes(), media_type="image/jpeg")
        assert report.state == "trusted", report.codes
        steps = report.manifest["assertions"][0]["data"]["actions"]
        assert steps[0]["action"] == "c2pa.opened"
        cited = {ingredient["label"]: ingredient for ingredient in report.manifest["ingredients"]}
        [opened] = steps[0]["parameters"]["ingredients"]
        parent = cited[opened["url"].rsplit("/", 1)[-1]]
        assert (parent["relationship"], parent["instance_id"]) == ("parentOf", "imported")
        assert sorted(ingredient["relationship"] for ingredient in cited.values()) == ["inputTo", "parentOf"]
