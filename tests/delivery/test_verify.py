import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from PIL import Image

from delivery.models import Delivery
from delivery.selectors import file_verify
from delivery.services.deliveries import delivery_create
from review.roles import CLIENT_REVIEWER
from tests.delivery.test_delivery_flow import small_preset
from tests.factories import api_as, make_brief, member


@pytest.fixture
def delivered(people, master, run_jobs):
    with run_jobs():
        delivery = delivery_create(
            version=master,
            presets=[small_preset(width=160, height=160)],
            created_by=people["producer"],
            override_reason="verify tests",
        )
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED, delivery.error
    item = delivery.items.get()
    from django.conf import settings

    return delivery, item, (settings.SEED_DELIVERY_DIR / delivery.folder / item.file_name).read_bytes()


def test_verify_names_the_version_and_delivery_of_a_signed_file(delivered, tmp_path, capsys):
    delivery, item, data = delivered
    result = file_verify(data=data)
    assert (result.manifest, result.match, result.distance) == ("trusted", "exact", 0)
    assert (result.version_id, result.delivery_id, result.preset) == (item.version_id, delivery.pk, item.preset.slug)
    path = tmp_path / "copy.jpg"
    path.write_bytes(data)
    call_command("verify", str(path), "--json")
    report = json.loads(capsys.readouterr().out)
    assert {"manifest", "version_id", "delivery_id", "match", "distance"} <= set(report)
    assert report["manifest"] == "trusted" and report["delivery_id"] == delivery.pk


def test_one_flipped_byte_makes_the_manifest_invalid(delivered):
    _, _, data = delivered
    flipped = bytearray(data)
    flipped[-200] ^= 0x01  # inside the compressed pixels, which the manifest's hash covers
    result = file_verify(data=bytes(flipped))
    assert result.manifest == "invalid" and result.match != "exact"


def test_a_stripped_re_encode_is_found_by_its_soft_binding(delivered):
    _, item, data = delivered
    with Image.open(io.BytesIO(data)) as image:
        smaller = image.convert("RGB").resize((120, 120))
    buffer = io.BytesIO()
    smaller.save(buffer, format="WEBP", quality=70)
    result = file_verify(data=buffer.getvalue())
    assert result.manifest == "absent" and result.match == "soft_binding"
    assert result.version_id == item.version_id and result.delivery_id == item.delivery_id and result.distance <= 10


def test_unrelated_image_matches_nothing(delivered):
    buffer = io.BytesIO()
    Image.radial_gradient("L").convert("RGB").save(buffer, format="PNG")
    result = file_verify(data=buffer.getvalue())
    assert (result.manifest, result.match, result.version_id) == ("absent", "none", None)


def test_verify_api_scopes_matches_to_the_callers_clients(delivered, people):
    _, item, data = delivered
    response = api_as(people["client"]).post(
        "/api/verify/", {"file": SimpleUploadedFile("x.jpg", data)}, format="multipart"
    )
    assert response.status_code == 200 and response.json()["version_id"] == item.version_id
    other = member("otto", CLIENT_REVIEWER, make_brief(client_name="Other Co", title="Other").campaign.client)
    response = api_as(other).post("/api/verify/", {"file": SimpleUploadedFile("x.jpg", data)}, format="multipart")
    body = response.json()
    assert response.status_code == 200 and body["manifest"] == "trusted"
    assert (body["match"], body["version_id"], body["delivery_id"]) == ("none", None, None)
    bad = api_as(people["client"]).post(
        "/api/verify/", {"file": SimpleUploadedFile("x.jpg", b"not an image")}, format="multipart"
    )
    assert bad.status_code == 400 and "not an image" in bad.json()["message"]


def test_verify_command_refuses_what_is_not_an_image(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(CommandError, match="not an image"):
        call_command("verify", str(path))
    with pytest.raises(CommandError, match="is not a file"):
        call_command("verify", str(tmp_path / "missing.jpg"))


CHILD_READ = """
import sys
import django
from django.conf import settings

django.setup()
settings.SEED_C2PA_TRUST_ANCHORS = sys.argv[1]
from delivery.provenance import manifest_read_isolated

report = manifest_read_isolated(data=sys.stdin.buffer.read(), media_type="image/jpeg")
print(report.state, report.lineage["delivery_id"], "c2pa" in sys.modules)
"""


def test_the_web_process_reads_manifests_in_a_child_and_never_loads_c2pa(delivered, settings):
    import subprocess
    import sys

    delivery, _, data = delivered
    child = subprocess.run(
        [sys.executable, "-c", CHILD_READ, str(settings.SEED_C2PA_TRUST_ANCHORS)],
        input=data,
        capture_output=True,
        cwd=settings.BASE_DIR,
        check=True,
    )
    assert child.stdout.decode().split() == ["trusted", str(delivery.pk), "False"]


def test_a_reader_that_stops_gives_an_invalid_verdict_not_an_error(delivered, settings, tmp_path):
    from delivery.provenance import manifest_read_isolated

    _, _, data = delivered
    settings.SEED_C2PA_TRUST_ANCHORS = tmp_path / "anchors.pem"
    settings.SEED_C2PA_TRUST_ANCHORS.write_text("not a certificate\n")
    report = manifest_read_isolated(data=data, media_type="image/jpeg")
    assert report.state == "invalid" and report.lineage is None
    assert report.codes[0].startswith("unreadable: the reader stopped")


@pytest.mark.parametrize("anchors", ["missing", "empty", "not pem"])
def test_unusable_trust_anchors_are_a_configuration_error_never_an_invalid_verdict(
    delivered, settings, tmp_path, anchors
):
    from django.core.management.base import SystemCheckError

    _, _, data = delivered
    path = tmp_path / "anchors.pem"
    if anchors != "missing":
        path.write_bytes(
            b"" if anchors == "empty" else b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"
        )
    settings.SEED_C2PA_TRUST_ANCHORS = path
    with pytest.raises(SystemCheckError, match="seed.E003.*SEED_C2PA_TRUST_ANCHORS"):
        call_command("check", "--deploy", stdout=io.StringIO(), stderr=io.StringIO())
    result = file_verify(data=data)
    assert result.manifest == "unverifiable" and result.match == "exact"
    assert "SEED_C2PA_TRUST_ANCHORS" in result.manifest_codes[0]
    response = api_as(member("vera", "Producer")).post(
        "/api/verify/", {"file": SimpleUploadedFile("f.jpg", data)}, format="multipart"
    )
    assert response.status_code == 200 and response.json()["manifest"] == "unverifiable"
    flipped = bytearray(data)
    flipped[-200] ^= 0x01
    assert file_verify(data=bytes(flipped)).manifest == "invalid"
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(data)
    with pytest.raises(CommandError, match="SEED_C2PA_TRUST_ANCHORS"):
        call_command("verify", str(copy), stdout=io.StringIO())


def test_check_deploy_accepts_a_usable_signer(settings):
    from delivery.checks import signing_material_check

    assert signing_material_check(None) == []


def test_a_file_signed_by_another_studios_ca_is_valid_but_untrusted(db, settings, tmp_path):
    from assets.operations import TRAINED
    from delivery import signing
    from delivery.keys import dev_ca_create
    from tests.factories import image_bytes

    ours = (settings.SEED_C2PA_CERT, settings.SEED_C2PA_KEY, settings.SEED_C2PA_TRUST_ANCHORS)
    foreign = dev_ca_create(folder=tmp_path / "elsewhere", organisation="Another studio")
    settings.SEED_C2PA_CERT, settings.SEED_C2PA_KEY, settings.SEED_C2PA_TRUST_ANCHORS = (
        foreign["chain"],
        foreign["key"],
        foreign["root"],
    )
    manifest = signing.manifest_build(
        title="theirs.jpg",
        media_type="image/jpeg",
        actions=[{"action": "c2pa.created", "digitalSourceType": TRAINED}],
        lineage={"version_id": 1},
    )
    signed = signing.sign_to_temp(
        data=image_bytes(size=(64, 48), image_format="JPEG"),
        media_type="image/jpeg",
        manifest=manifest,
        ingredients=[],
        directory=tmp_path,
    )
    settings.SEED_C2PA_CERT, settings.SEED_C2PA_KEY, settings.SEED_C2PA_TRUST_ANCHORS = ours
    result = file_verify(data=signed.path.read_bytes())
    assert result.manifest == "valid_untrusted" and result.match == "none"
    assert result.claimed == {"version_id": 1, "delivery_id": None}, (
        "what an untrusted manifest says is shown as a claim"
    )
