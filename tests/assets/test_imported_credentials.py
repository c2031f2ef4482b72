"""A file with a valid C2PA manifest from another tool keeps it: imported, its claim generator, actions, digital source
type and ingredients are recorded on its import, and its manifest store is kept as a Credential. Also: the readers
under that (XMP document ids in RDF's spellings, a manifest store cut out of JPEG, PNG and WebP)."""

import io
import json
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from assets.c2pa_stores import manifest_store_extract
from assets.incoming import manifest_summary, xmp_ids_read
from assets.models import Credential, Used, Version
from assets.services.recipe_imports import images_import
from tests.factories import api_as

CONFORMANCE = Path(__file__).resolve().parents[1] / "data" / "c2pa-conformance"
CII_LABEL = "contentauth:urn:uuid:1c8e975a-0881-46f0-b07e-58f1b3a34a74"


@pytest.mark.django_db
def test_a_conformance_file_from_another_tool_is_imported_with_its_manifest_read_and_kept(cast):
    data = (CONFORMANCE / "adobe-20220124-CII.jpg").read_bytes()
    upload = io.BytesIO(data)
    upload.name = "CII.jpg"
    response = api_as(cast["alice"]).post(
        "/api/versions/import-images/", {"brief": cast["brief_a"].pk, "files": [upload]}, format="multipart"
    )
    assert response.status_code == 201, response.content
    [report] = response.json()
    assert report["claim_generator"] == "make_test_images/0.16.1 c2pa-rs/0.16.1"
    assert report["parent"] is None  # its ingredient is placed (componentOf), not a parent Seed knows
    derivation = Version.objects.get(pk=report["version"]).generated_by.derivation
    assert not derivation.used.filter(role=Used.Role.PARENT).exists()
    recorded = derivation.params["credentials"]
    assert (recorded["manifest_id"], recorded["state"], recorded["signed_by"]) == (
        CII_LABEL,
        "valid_untrusted",
        "C2PA Signer",
    )
    assert [a["action"] for a in recorded["actions"]] == [
        "c2pa.created",
        "c2pa.drawing",
        "c2pa.placed",
        "c2pa.placed",
        "c2pa.resized",
    ]
    assert [(i["title"], i["relationship"]) for i in recorded["ingredients"]] == [("I.jpg", "componentOf")]
    assert derivation.params["edits"] == "drawing, placed, resized"
    kept = Credential.objects.get(version_id=report["version"])
    assert (kept.kind, kept.manifest_id, kept.media_type) == (Credential.Kind.IMPORTED, CII_LABEL, "image/jpeg")
    assert kept.file_sha256 == report["sha256"] and (kept.width, kept.height) == Image.open(io.BytesIO(data)).size
    assert kept.iscc.startswith("ISCC:") and kept.claim_generator == recorded["claim_generator"]
    # The kept store is the manifest store itself: the reader reads it alone as application/c2pa.
    import c2pa

    context = c2pa.Context(c2pa.Settings.from_dict({"verify": {"verify_trust": False}}))
    with c2pa.Reader("application/c2pa", io.BytesIO(bytes(kept.store)), context=context) as reader:
        assert json.loads(reader.json())["active_manifest"] == CII_LABEL
    # Brought in again (another brief of the client), the file is imported; its manifest is kept once.
    again = images_import(brief=cast["brief_a"], sources=[ContentFile(data, name="CII-again.jpg")])
    assert again[0]["imported"] and Credential.objects.filter(manifest_id=CII_LABEL).count() == 1


@pytest.mark.django_db
def test_a_file_whose_manifest_does_not_validate_is_refused_and_leaves_nothing(cast):
    data = (CONFORMANCE / "adobe-20220124-XCI.jpg").read_bytes()
    [report] = images_import(brief=cast["brief_a"], sources=[ContentFile(data, name="XCI.jpg")], find_parent=True)
    assert not report["imported"] and report["code"] == "manifest_invalid"
    assert not Credential.objects.exists() and not Version.objects.filter(label="XCI.jpg").exists()


RDF = 'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
MM = 'xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" xmlns:stRef="http://ns.adobe.com/xap/1.0/sType/ResourceRef#"'


def _packet(body: str, *, attributes: str = "") -> str:
    return (
        f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF {RDF}>'
        f'<rdf:Description rdf:about="" {MM} {attributes}>{body}</rdf:Description></rdf:RDF></x:xmpmeta>'
        '<?xpacket end="w"?>'
    )


def test_xmp_ids_are_read_in_each_of_rdfs_spellings():
    as_attributes = _packet(
        '<xmpMM:DerivedFrom stRef:documentID="xmp.did:a" stRef:instanceID="xmp.iid:a"/>',
        attributes='xmpMM:DocumentID="xmp.did:b" xmpMM:InstanceID="xmp.iid:b" xmpMM:OriginalDocumentID="xmp.did:o"',
    )
    ids = xmp_ids_read(as_attributes.encode())
    assert (ids.document_id, ids.instance_id, ids.original_document_id) == ("xmp.did:b", "xmp.iid:b", "xmp.did:o")
    assert (ids.derived_document_id, ids.derived_instance_id) == ("xmp.did:a", "xmp.iid:a")
    assert ids.document_ids == ["xmp.did:a", "xmp.did:o", "xmp.did:b"]
    # Photoshop writes elements, and DerivedFrom as a resource of its own.
    as_elements = _packet(
        "<xmpMM:DocumentID>xmp.did:b</xmpMM:DocumentID>"
        '<xmpMM:DerivedFrom rdf:parseType="Resource"><stRef:documentID>xmp.did:a</stRef:documentID>'
        "</xmpMM:DerivedFrom>"
    )
    assert xmp_ids_read(as_elements).derived_document_id == "xmp.did:a"
    nested = _packet('<xmpMM:DerivedFrom><rdf:Description stRef:documentID="xmp.did:n"/></xmpMM:DerivedFrom>')
    assert xmp_ids_read(nested).derived_document_id == "xmp.did:n"


def test_an_xmp_packet_that_is_broken_or_declares_entities_says_nothing():
    assert xmp_ids_read(b"<x:xmpmeta><rdf:RDF") == xmp_ids_read(None) == xmp_ids_read(b"")
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        + _packet("<xmpMM:DocumentID>&b;</xmpMM:DocumentID>")
    )
    assert xmp_ids_read(laughs.encode()).document_id == ""


@pytest.mark.parametrize(
    ("image_format", "media_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_the_manifest_store_is_cut_out_of_each_container_as_signed(c2pa_keys, image_format, media_type):
    import c2pa

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 90, 200)).save(buffer, format=image_format)
    created = {
        "action": "c2pa.created",
        "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
    }
    # A big assertion spreads a JPEG's store over several APP11 segments, which must be joined back.
    filler = {"label": "org.example.filler", "data": {"text": "x" * 150_000}}
    manifest = {"assertions": [{"label": "c2pa.actions.v2", "data": {"actions": [created]}}, filler]}
    signer = c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(
            alg=b"es256",
            sign_cert=c2pa_keys["chain"].read_bytes(),
            private_key=c2pa_keys["key"].read_bytes(),
            ta_url=None,
        )
    )
    signed = io.BytesIO()
    store = c2pa.Builder(manifest).sign(signer, media_type, io.BytesIO(buffer.getvalue()), signed)
    assert manifest_store_extract(data=signed.getvalue(), media_type=media_type) == bytes(store)
    assert manifest_store_extract(data=buffer.getvalue(), media_type=media_type) is None
    assert manifest_store_extract(data=signed.getvalue()[:200], media_type=media_type) is None


def test_a_hostile_manifest_is_recorded_bounded_and_storable():
    flood = [{"action": "c2pa.edited", "softwareAgent": {"name": "x" * 500}}] * 200
    report = {
        "state": "valid_untrusted",
        "manifest": {
            "label": "urn:c2pa:hostile",
            "claim_generator": "a\x00b",
            "assertions": [
                {"label": "c2pa.actions.v2", "data": {"actions": [*flood, "not an action"]}},
                {"label": "c2pa.actions", "data": ["not", "a", "dict"]},
            ],
            "ingredients": [{"title": "t", "relationship": "parentOf", "active_manifest": "urn:c2pa:p"}] * 40,
        },
    }
    summary = manifest_summary(report)
    assert len(summary["actions"]) == 50 and len(summary["actions"][0]["softwareAgent"]) == 200
    assert summary["claim_generator"] == ""  # Postgres keeps no NUL: the text is dropped, not the import
    assert len(summary["ingredients"]) == 16 and summary["ingredients"][0]["state"] == "valid"
