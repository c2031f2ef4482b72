"""Machine-read checks as the studio meets them: asked for when a version joins a round, measured once per key,
overruled through the API with a reason (audited), and never shown to a client user or a guest."""

import datetime as dt
import io
import json
import re
import zlib

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image, ImageFilter

from assets.models import AuditEvent, VersionCheck, VersionCheckRun
from assets.services.machine_checks import machine_checks_run
from assets.services.versions import version_import
from review.contact_sheet import contact_sheet_pdf
from review.services.rounds import round_open
from review.services.share_links import share_link_create
from tests.factories import api_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def soft_version(cast):
    """Aurora's version with a blurred quadrant: the sharpness map has something to show (and a picture of it)."""
    blocks = np.random.default_rng(3).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    image = Image.fromarray(blocks).resize((128, 128), Image.Resampling.NEAREST)
    image.paste(image.crop((0, 0, 64, 64)).filter(ImageFilter.GaussianBlur(3)), (0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return version_import(brief=cast["brief_a"], source=ContentFile(buffer.getvalue(), name="soft.png"), label="soft")


@pytest.fixture
def checked(cast, soft_version, django_capture_on_commit_callbacks):
    """A client round with the soft version in it; its checks ran on the worker path at commit."""
    with django_capture_on_commit_callbacks(execute=True):
        review_round = round_open(
            brief=cast["brief_a"], versions=[soft_version], stage="client", opened_by=cast["alice"]
        )
    return review_round, VersionCheck.objects.get(version=soft_version, key="sharpness")


def test_a_version_joining_a_round_has_its_checks_queued_at_commit(
    cast, soft_version, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        round_open(brief=cast["brief_a"], versions=[soft_version], stage="internal", opened_by=cast["alice"])
    assert VersionCheckRun.objects.get(version=soft_version).pending
    assert not VersionCheck.objects.filter(version=soft_version).exists()  # nothing measured before the commit
    assert api_as(cast["bob"]).get(f"/api/versions/{soft_version.pk}/checks/").json() == {"pending": True, "checks": []}
    for callback in callbacks:
        callback()
    assert not VersionCheckRun.objects.get(version=soft_version).pending
    body = api_as(cast["bob"]).get(f"/api/versions/{soft_version.pk}/checks/").json()
    assert body["pending"] is False
    assert {check["key"]: check["verdict"] for check in body["checks"]}["sharpness"] == "warn"


def test_checks_are_recorded_once_per_key_and_an_overrule_survives_a_rerun(checked, soft_version, cast):
    _, sharpness = checked
    keys = sorted(VersionCheck.objects.filter(version=soft_version).values_list("key", flat=True))
    assert keys.count("sharpness") == 1
    api_as(cast["bob"]).post(
        f"/api/checks/{sharpness.pk}/overrule/",
        {"verdict": "pass", "reason": "shallow focus, on purpose"},
        format="json",
    )
    assert machine_checks_run(version_id=soft_version.pk) == []  # nothing new
    assert sorted(VersionCheck.objects.filter(version=soft_version).values_list("key", flat=True)) == keys
    assert VersionCheck.objects.get(pk=sharpness.pk).final_verdict == "pass"


def test_an_overrule_through_the_api_is_audited_and_bad_ones_are_refused(checked, cast):
    _, sharpness = checked
    bob = api_as(cast["bob"])
    url = f"/api/checks/{sharpness.pk}/overrule/"
    bad_verdict = bob.post(url, {"verdict": "reject", "reason": "no"}, format="json")
    assert bad_verdict.status_code == 400 and "verdict" in bad_verdict.json()["message"]
    no_reason = bob.post(url, {"verdict": "pass", "reason": "  "}, format="json")
    assert no_reason.status_code == 400 and "say why" in no_reason.json()["message"]
    for client_user in ("dana", "charlie"):  # Dana reviews Aurora for the client; Charlie, Borealis
        refused = api_as(cast[client_user]).post(url, {"verdict": "pass", "reason": "fine"}, format="json")
        assert refused.status_code == 403, client_user
    assert VersionCheck.objects.get(pk=sharpness.pk).overruled_verdict == ""
    assert not AuditEvent.objects.filter(kind__startswith="machine_check").exists()

    done = bob.post(url, {"verdict": "pass", "reason": "bokeh behind the can, as briefed"}, format="json")
    assert done.status_code == 200
    assert done.json()["final_verdict"] == "pass" and done.json()["verdict"] == "warn"
    assert done.json()["overruled_by"] == "bob"
    event = AuditEvent.objects.get(kind="machine_check.overruled")
    assert event.actor == cast["bob"] and event.payload["machine"] == "warn" and event.payload["reviewer"] == "pass"
    restored = bob.post(url, {"verdict": ""}, format="json").json()
    assert restored["final_verdict"] == "warn" and restored["overruled_by"] is None
    assert AuditEvent.objects.filter(kind="machine_check.restored").count() == 1


def test_the_studio_reads_checks_and_their_picture_and_clients_and_guests_never_do(checked, soft_version, cast, client):
    review_round, sharpness = checked
    bob = api_as(cast["bob"])
    body = bob.get(f"/api/versions/{soft_version.pk}/checks/").json()
    artefact = {check["key"]: check for check in body["checks"]}["sharpness"]["artefact"]
    picture = bob.get(artefact)
    assert picture.status_code == 200 and picture["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(b"".join(picture.streaming_content))).mode == "RGBA"
    client.force_login(cast["bob"])
    assert client.get(f"/blobs/{sharpness.artefact_id}/").status_code == 404  # no way round through the blob view
    client.logout()
    for client_user in ("dana", "charlie"):
        api = api_as(cast[client_user])
        assert api.get(f"/api/versions/{soft_version.pk}/checks/").status_code in (403, 404), client_user
        assert api.get(artefact).status_code in (403, 404), client_user
        assert "sharpness" not in api.get(f"/api/versions/{soft_version.pk}/").content.decode()
    # The guest's page of the same round: no checks in its data, no panel.
    _, token = share_link_create(
        review_round=review_round, created_by=cast["alice"], expires=timezone.localdate() + dt.timedelta(days=3)
    )
    page = client.get(f"/review/s/{token}/").content.decode()
    data = json.loads(re.search(r'id="seed-workspace" type="application/json">(.*?)</script>', page, re.S)[1])
    assert data["checks"] is None and "ws-checks" not in page and "Sharpness" not in page
    # A client user in the admin workspace is given none either.
    client.force_login(cast["dana"])
    workspace = client.get(f"/admin/review/reviewround/{review_round.pk}/workspace/").content.decode()
    assert "ws-checks" not in workspace and '"checks": null' in workspace


def _pdf_text(pdf: bytes) -> bytes:
    return b"".join(
        zlib.decompress(stream)
        for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S)
        if stream[:2] in (b"x\x9c", b"x\xda", b"x^")
    )


def test_the_contact_sheet_gives_the_studio_each_versions_checks_in_a_line(checked):
    review_round, _ = checked
    studio = _pdf_text(contact_sheet_pdf(review_round=review_round))
    assert b"checks: look: sharpness" in studio and b" pass" in studio
    assert b"checks:" not in _pdf_text(contact_sheet_pdf(review_round=review_round, for_client=True))


def test_the_briefs_required_copy_is_set_through_the_api_and_checked(cast):
    alice, campaign = api_as(cast["alice"]), cast["brief_a"].campaign_id
    made = alice.post(
        "/api/briefs/",
        {"campaign": campaign, "title": "Sale", "required_copy": [" SALE 50% ", "CITRUS WAVE"]},
        format="json",
    )
    assert made.status_code == 201 and made.json()["required_copy"] == ["SALE 50%", "CITRUS WAVE"]
    for bad in ([""], ["   "], ["x" * 201], [f"line {n}" for n in range(21)], "SALE 50%"):
        refused = alice.post(
            "/api/briefs/", {"campaign": campaign, "title": "Bad", "required_copy": bad}, format="json"
        )
        assert refused.status_code == 400 and "required_copy" in refused.json()["message"], bad
