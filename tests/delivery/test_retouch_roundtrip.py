"""Edits made outside come back as children: a version exported for retouching (a signed PNG that names itself),
changed by a retoucher's tool, and brought back through the import doors finds its parent by its C2PA parentOf
ingredient, its XMP ids, its soft binding or content code, or its perceptual hash; when nothing decides, the import
asks. Alice produces, Dana reviews for Aurora (client A), Charlie for Borealis (client B).
"""

import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from PIL import Image, PngImagePlugin

from assets.c2pa_reading import SOFT_BINDING_LABEL
from assets.content_codes import ISCC_ALG, content_code
from assets.demo import mood_board_image
from assets.models import Blob, Credential, Derivation, Used, Version
from assets.operations import params_key_summary
from assets.services.blobs import blob_open
from assets.services.recipe_imports import images_import
from assets.services.versions import version_import
from delivery.demo_retouch import outside_retouch, retouch_stage
from delivery.keys import dev_ca_create
from delivery.models import Delivery
from delivery.provenance import manifest_read
from delivery.services.deliveries import delivery_create
from tests.delivery.conftest import approve
from tests.delivery.test_delivery_flow import small_preset
from tests.factories import api_as

pytestmark = pytest.mark.django_db
SCAN = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"


@pytest.fixture(scope="module")
def retoucher_keys(tmp_path_factory):
    """The outside retoucher's own CA and signer: Seed does not trust it, and need not."""
    return dev_ca_create(folder=tmp_path_factory.mktemp("retoucher-keys"), organisation="Outside retoucher")


def picture(cast, *, index: int, brief="brief_a") -> Version:
    """A version with a picture in it (flat colours have nothing to be recognised by)."""
    data = mood_board_image(index=index, size=(192, 256))
    return version_import(brief=cast[brief], source=ContentFile(data, name=f"picture-{index}.png"), label=f"p{index}")


def export(user, version: Version):
    response = api_as(user).post(f"/api/versions/{version.pk}/retouch-export/")
    assert response.status_code == 200, response.content
    return response


def upload(data: bytes, name: str):
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def bring_back(user, brief, data: bytes, name="retouched.jpg", **fields):
    return api_as(user).post(
        "/api/versions/import/",
        {"brief": brief.pk, "image": upload(data, name), **fields},
        format="multipart",
    )


def made_by(version_id: int) -> Derivation:
    return Version.objects.get(pk=version_id).generated_by.derivation


def parent_of(version_id: int) -> int | None:
    edge = made_by(version_id).used.filter(role=Used.Role.PARENT).first()
    return edge.version_id if edge else None


def test_a_retouch_signed_by_its_tool_comes_back_as_the_child_by_its_parent_of_ingredient(cast, retoucher_keys):
    version = picture(cast, index=1)
    exported = export(cast["alice"], version)
    assert exported["Content-Type"] == "image/png"
    assert exported["Content-Disposition"] == f'attachment; filename="v{version.pk}-{version.blob_id[:12]}-retouch.png"'
    data = exported.content
    # The export is the version's pixels, losslessly, and names itself: XMP ids, and Seed's trusted manifest.
    with Image.open(io.BytesIO(data)) as opened, blob_open(blob=version.blob) as handle, Image.open(handle) as original:
        assert opened.format == "PNG" and opened.tobytes() == original.convert("RGB").tobytes()
        xmp = opened.info["xmp"]
    credential = Credential.objects.get(version=version, kind=Credential.Kind.RETOUCH_EXPORT)
    assert credential.manifest_id == exported["X-Seed-Credential"]
    assert credential.document_id.startswith("xmp.did:") and credential.document_id in str(xmp)
    report = manifest_read(data=data, media_type="image/png")
    assert report.state == "trusted" and report.manifest["label"] == credential.manifest_id
    assert report.lineage["version_id"] == version.pk and report.lineage["document_id"] == credential.document_id

    retouched = outside_retouch(exported=data, keys=retoucher_keys)
    response = bring_back(cast["alice"], cast["brief_a"], retouched)
    assert response.status_code == 201, response.content
    child = response.json()["id"]
    assert parent_of(child) == version.pk
    params = made_by(child).params
    assert params["matched_by"] == "c2pa_parent"
    assert params["parent_match"] == (f"parent v{version.pk} by its C2PA parentOf ingredient {credential.manifest_id}")
    # The retoucher's actions, with their software agent, are the import's record and label its step in the lineage.
    actions = params["credentials"]["actions"]
    assert [a["action"] for a in actions] == ["c2pa.opened", "c2pa.color_adjustments", "c2pa.resized"]
    assert actions[1]["softwareAgent"] == "RetouchScript 0.3"
    assert params["credentials"]["claim_generator"].startswith("RetouchScript 0.3")
    assert params["edits"] == "color_adjustments, resized · RetouchScript 0.3"
    assert "edits color_adjustments, resized" in params_key_summary(op="import", params=params)
    # The retoucher's manifest is kept beside the file: its store, under its own label.
    kept = Credential.objects.get(version_id=child, kind=Credential.Kind.IMPORTED)
    assert kept.manifest_id == params["credentials"]["manifest_id"] != credential.manifest_id
    assert bytes(kept.store)[4:8] == b"jumb" and kept.claim_generator.startswith("RetouchScript")


def test_a_retouch_exported_again_comes_back_as_the_grandchild(cast, retoucher_keys):
    version = picture(cast, index=2)
    child = bring_back(
        cast["alice"],
        cast["brief_a"],
        outside_retouch(exported=export(cast["alice"], version).content, keys=retoucher_keys),
    ).json()["id"]
    again = export(cast["alice"], Version.objects.get(pk=child)).content
    report = manifest_read(data=again, media_type="image/png")
    assert report.state == "trusted"
    grandchild = bring_back(cast["alice"], cast["brief_a"], outside_retouch(exported=again, keys=retoucher_keys))
    assert grandchild.status_code == 201, grandchild.content
    assert parent_of(grandchild.json()["id"]) == child


def test_an_editor_that_dropped_c2pa_but_kept_xmp_is_matched_by_derived_from(cast, tmp_path):
    version = picture(cast, index=3)
    exported = export(cast["alice"], version).content
    path = tmp_path / "retouched.jpg"
    path.write_bytes(outside_retouch(exported=exported, keys=None))
    assert b"c2pa" not in path.read_bytes()
    out = io.StringIO()
    call_command("import_images", str(path), brief=cast["brief_a"].pk, stdout=out)
    child = Version.objects.get(label="retouched.jpg")
    document_id = Credential.objects.get(version=version).document_id
    assert parent_of(child.pk) == version.pk
    assert made_by(child.pk).params["matched_by"] == "xmp_document"
    assert f"v{child.pk}, parent v{version.pk} by its XMP document id {document_id}" in out.getvalue()
    # With no manifest of its own, the retouch reads in the next export's claim as one human edit.
    report = manifest_read(data=export(cast["alice"], child).content, media_type="image/png")
    edited = [a for a in report.manifest["assertions"] if a["label"] == "c2pa.actions.v2"][0]["data"]["actions"][-1]
    assert edited["action"] == "c2pa.edited" and edited["digitalSourceType"].endswith("/humanEdits")


def _stripped(data: bytes, *, scale: float, quality: int = 85) -> bytes:
    """The pixels alone, resized and re-encoded, as a platform or a careless tool leaves them."""
    with Image.open(io.BytesIO(data)) as opened:
        small = opened.convert("RGB").resize((round(opened.width * scale), round(opened.height * scale)))
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def test_a_stripped_and_resized_retouch_is_matched_by_its_content_code(cast):
    version = picture(cast, index=4)
    picture(cast, index=5)  # another picture of the brief, never exported
    copy = _stripped(export(cast["alice"], version).content, scale=0.6)
    response = bring_back(cast["alice"], cast["brief_a"], copy)
    assert response.status_code == 201, response.content
    params = made_by(response.json()["id"]).params
    assert parent_of(response.json()["id"]) == version.pk
    assert params["matched_by"] == "content_code" and params["parent_match"].startswith(
        f"parent v{version.pk} by its content code ISCC:"
    )
    assert "credentials" not in params  # nothing signed came with it


def test_a_soft_binding_the_file_carries_finds_the_signed_original(cast, retoucher_keys):
    import c2pa

    version = picture(cast, index=6)
    exported = export(cast["alice"], version).content
    with Image.open(io.BytesIO(exported)) as opened:
        binding = content_code(opened).iscc
    # A platform re-signed a stripped copy, keeping the original's soft binding (no parentOf, no XMP).
    manifest = {
        "claim_generator_info": [{"name": "Platform", "version": "1"}],
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": SCAN}]}},
            {"label": SOFT_BINDING_LABEL, "data": {"alg": ISCC_ALG, "blocks": [{"scope": {}, "value": binding}]}},
        ],
    }
    signer = c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(
            alg=b"es256",
            sign_cert=retoucher_keys["chain"].read_bytes(),
            private_key=retoucher_keys["key"].read_bytes(),
            ta_url=None,
        )
    )
    signed = io.BytesIO()
    c2pa.Builder(manifest).sign(signer, "image/jpeg", io.BytesIO(_stripped(exported, scale=0.5)), signed)
    response = bring_back(cast["alice"], cast["brief_a"], signed.getvalue())
    assert response.status_code == 201, response.content
    params = made_by(response.json()["id"]).params
    assert params["matched_by"] == "soft_binding" and binding in params["parent_match"]
    assert parent_of(response.json()["id"]) == version.pk
    assert params["credentials"]["claim_generator"].startswith("Platform 1")


def test_a_file_seed_never_signed_falls_back_to_the_perceptual_hash_among_the_brief(cast):
    version = picture(cast, index=7)
    picture(cast, index=8)
    with blob_open(blob=version.blob) as handle:
        copy = _stripped(handle.read(), scale=0.5, quality=80)
    assert not Credential.objects.exists()
    response = bring_back(cast["alice"], cast["brief_a"], copy)
    assert response.status_code == 201, response.content
    params = made_by(response.json()["id"]).params
    assert parent_of(response.json()["id"]) == version.pk and params["matched_by"] == "perceptual_hash"
    assert params["parent_match"].startswith(f"parent v{version.pk} by its perceptual hash among the brief's versions")


def _with_document_id(data: bytes, document_id: str) -> bytes:
    packet = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/">'
        f"<xmpMM:DocumentID>{document_id}</xmpMM:DocumentID><xmpMM:InstanceID>xmp.iid:1</xmpMM:InstanceID>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet)
    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def test_a_file_that_names_a_parent_seed_cannot_place_is_not_guessed_at(cast, tmp_path, settings):
    picture(cast, index=9)
    # Saved ("Save As") from a document Seed never exported: its DerivedFrom names nothing here.
    opened = _with_document_id(mood_board_image(index=10, size=(192, 256)), "xmp.did:from-another-studio")
    retouched = outside_retouch(exported=opened, keys=None)
    versions, blobs = Version.objects.count(), Blob.objects.count()
    asked = bring_back(cast["alice"], cast["brief_a"], retouched)
    assert asked.status_code == 409, asked.content
    body = asked.json()
    assert body["extra"]["code"] == "parent_unknown" and body["extra"]["pass"].startswith("parent=<version id>")
    assert "says it was made from another file" in body["message"]
    assert body["extra"]["candidates"] == []  # Borealis's original is not Aurora's to offer
    many = api_as(cast["alice"]).post(
        "/api/versions/import-images/",
        {"brief": cast["brief_a"].pk, "files": [upload(retouched, "retouched.jpg")]},
        format="multipart",
    )
    assert many.status_code == 409 and many.json()["extra"]["reports"][0]["code"] == "parent_unknown"
    assert (Version.objects.count(), Blob.objects.count()) == (versions, blobs)
    assert not list((settings.MEDIA_ROOT / "blobs").rglob(f"*{_sha(retouched)}*"))
    path = tmp_path / "retouched.jpg"
    path.write_bytes(retouched)
    with pytest.raises(CommandError, match=r"pass --parent VERSION \(candidates: none\) or --standalone"):
        call_command("import_images", str(path), brief=cast["brief_a"].pk, stdout=io.StringIO())
    standalone = bring_back(cast["alice"], cast["brief_a"], retouched, parent="none")
    assert standalone.status_code == 201 and parent_of(standalone.json()["id"]) is None
    given = picture(cast, index=11)
    named = bring_back(cast["alice"], cast["brief_a"], retouched, parent=given.pk)
    assert named.status_code == 201 and parent_of(named.json()["id"]) == given.pk
    assert "matched_by" not in made_by(named.json()["id"]).params


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_a_file_alike_two_versions_asks_with_both_as_candidates(cast):
    data = mood_board_image(index=12, size=(192, 256))
    first, second = (
        version_import(brief=cast["brief_a"], source=ContentFile(data, name=f"{n}.png"), label=n) for n in "ab"
    )
    asked = bring_back(cast["alice"], cast["brief_a"], _stripped(data, scale=0.5))
    assert asked.status_code == 409, asked.content
    assert {c["version"] for c in asked.json()["extra"]["candidates"]} >= {first.pk, second.pk}
    assert "several of the brief's versions" in asked.json()["message"]


def test_a_retouch_never_attaches_across_clients(cast, retoucher_keys, tmp_path):
    theirs = picture(cast, index=13, brief="brief_b")
    retouched = outside_retouch(exported=export(cast["alice"], theirs).content, keys=retoucher_keys)
    # Alice sees both clients, but a file imported into Aurora's brief is never attached to Borealis's version.
    asked = bring_back(cast["alice"], cast["brief_a"], retouched)
    assert asked.status_code == 409 and asked.json()["extra"]["candidates"] == []
    assert asked.json()["extra"]["claims"]["parent_manifest"] == Credential.objects.get(version=theirs).manifest_id
    named = bring_back(cast["alice"], cast["brief_a"], retouched, parent=theirs.pk)
    assert named.status_code == 400 and "belongs to another client" in named.json()["message"]
    path = tmp_path / "retouched.jpg"
    path.write_bytes(retouched)
    with pytest.raises(CommandError, match=f"no version {theirs.pk} of Aurora"):
        call_command("import_images", str(path), brief=cast["brief_a"].pk, parent=theirs.pk, stdout=io.StringIO())
    # Into its own client's brief it comes back as the child.
    home = bring_back(cast["alice"], cast["brief_b"], retouched)
    assert home.status_code == 201 and parent_of(home.json()["id"]) == theirs.pk


def test_only_producers_export_for_retouching_and_a_failed_signature_leaves_nothing(cast, settings, tmp_path):
    version = picture(cast, index=14)
    for name in ("dana", "bob", "charlie"):
        refused = api_as(cast[name]).post(f"/api/versions/{version.pk}/retouch-export/")
        assert refused.status_code == 403, (name, refused.content)
        assert "assets.add_credential" in refused.json()["message"]
    assert api_as(cast["alice"]).post("/api/versions/999999/retouch-export/").status_code == 404
    settings.SEED_C2PA_KEY = tmp_path / "missing-key.pem"
    failed = api_as(cast["alice"]).post(f"/api/versions/{version.pk}/retouch-export/")
    assert failed.status_code == 400 and "private key could not be read" in failed.json()["message"]
    assert not Credential.objects.exists()
    assert not list((settings.MEDIA_ROOT / "staging").glob("signing-*"))


CII = Path(__file__).resolve().parents[1] / "data" / "c2pa-conformance" / "adobe-20220124-CII.jpg"


def _deliver(version: Version, people, run_jobs) -> dict:
    """Approve and deliver `version` to one small preset; the delivered file's manifest as the reader gives it."""
    approve(version, producer=people["producer"], client_user=people["client"])
    with run_jobs():
        delivery = delivery_create(
            version=version,
            presets=[small_preset(width=96, height=96)],
            created_by=people["producer"],
            override_reason="retouch round-trip tests",
        )
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED, delivery.error
    item = delivery.items.get()
    data = (Path(settings.SEED_DELIVERY_DIR) / delivery.folder / item.file_name).read_bytes()
    report = manifest_read(data=data, media_type=item.preset.media_type)
    assert report.state == "trusted", report.codes
    return report.manifest


def test_another_tools_manifest_travels_into_what_seed_delivers_from_its_file(people, run_jobs):
    [report] = images_import(
        brief=people["brief"], sources=[ContentFile(CII.read_bytes(), name=CII.name)], find_parent=True
    )
    assert report["imported"], report
    kept = Credential.objects.get(version_id=report["version"])
    manifest = _deliver(Version.objects.get(pk=report["version"]), people, run_jobs)
    [parent] = [i for i in manifest["ingredients"] if i["relationship"] == "parentOf"]
    assert parent["active_manifest"] == kept.manifest_id


def test_a_retouched_master_delivers_with_the_retouchers_edits_in_its_claim(people, run_jobs, retoucher_keys):
    version = version_import(
        brief=people["brief"], source=ContentFile(mood_board_image(index=30, size=(192, 256)), name="master.png")
    )
    exported = export(people["producer"], version).content
    response = bring_back(people["producer"], people["brief"], outside_retouch(exported=exported, keys=retoucher_keys))
    assert response.status_code == 201, response.content
    manifest = _deliver(Version.objects.get(pk=response.json()["id"]), people, run_jobs)
    actions = [a for a in manifest["assertions"] if a["label"] == "c2pa.actions.v2"][0]["data"]["actions"]
    edits = [a for a in actions if a.get("description", "").startswith("edited outside Seed")]
    assert [a["action"] for a in edits] == ["c2pa.color_adjustments", "c2pa.resized"]
    assert edits[0]["softwareAgent"]["name"] == "RetouchScript 0.3"


def test_the_demo_brings_its_retouch_back_as_the_masters_child(people, master):
    context = {"approved_master": master, "user": people["producer"]}
    summary = retouch_stage(context=context)
    child = summary["retouched"]
    assert parent_of(child) == master.pk
    assert summary["came_back"].startswith(f"retouched_master.jpg came back as v{child}, parent v{master.pk} by its ")
    assert "C2PA parentOf ingredient urn:c2pa:" in summary["came_back"]
    assert summary["edits"] == "color_adjustments, resized · RetouchScript 0.3"
    assert retouch_stage(context=context)["retouched"] == child  # a second run finds it


def test_the_version_page_exports_for_retouching_and_shows_what_a_retouch_brought(cast, retoucher_keys):
    version = picture(cast, index=15)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(cast["alice"])
    page = browser.get(f"/admin/assets/version/{version.pk}/change/").content.decode()
    button = reverse("version-retouch-export", args=[version.pk])
    assert f'formaction="{button}"' in page
    # The button posts the page's own form: its CSRF token lets the session through the API.
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    exported = browser.post(button, {"csrfmiddlewaretoken": token})
    assert exported.status_code == 200 and exported["Content-Type"] == "image/png"
    child = bring_back(cast["alice"], cast["brief_a"], outside_retouch(exported=exported.content, keys=retoucher_keys))
    shown = browser.get(f"/admin/assets/version/{child.json()['id']}/change/").content.decode()
    assert f"parent v{version.pk} by its C2PA parentOf ingredient" in shown
    assert "c2pa.color_adjustments · RetouchScript 0.3" in shown and "(Outside retoucher)" in shown
    # From the list, the action gives the file too; a client reviewer is offered neither.
    listed = browser.post(
        "/admin/assets/version/",
        {"action": "export_for_retouching", "_selected_action": [version.pk], "csrfmiddlewaretoken": token},
    )
    assert listed.status_code == 200 and listed["Content-Type"] == "image/png"
    browser.force_login(cast["dana"])
    assert button not in browser.get(f"/admin/assets/version/{version.pk}/change/").content.decode()
