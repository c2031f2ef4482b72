"""Seed as a manifest repository: every delivered file carries an ISCC soft binding, its manifest is kept, a stripped
copy is traced to the file itself (not a sibling crop), and the C2PA Soft Binding Resolution API answers, scoped."""

import io
import json

import pytest
from django.conf import settings
from PIL import Image

from assets.content_codes import ISCC_ALG, content_code
from assets.models import Credential
from delivery.models import Delivery
from delivery.provenance import manifest_read
from delivery.selectors import file_verify
from delivery.services.deliveries import delivery_create
from review.roles import CLIENT_REVIEWER
from tests.delivery.test_delivery_flow import small_preset
from tests.factories import api_as, make_brief, member

# Siblings of one master: a 4:5 feed crop beside an A5-shaped print crop (the pair verify once confused), a square
# at two sizes (the same picture: only a watermark could tell their copies apart) and a widescreen.
SIBLINGS = [
    ("feed-4x5", 160, 200),
    ("print-a5", 148, 210),
    ("square-small", 160, 160),
    ("square-large", 200, 200),
    ("wide-16x9", 256, 144),
]


@pytest.fixture
def siblings(people, master, run_jobs):
    presets = [small_preset(slug=slug, width=width, height=height) for slug, width, height in SIBLINGS]
    with run_jobs():
        delivery = delivery_create(
            version=master, presets=presets, created_by=people["producer"], override_reason="soft binding tests"
        )
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED, delivery.error
    folder = settings.SEED_DELIVERY_DIR / delivery.folder
    return {item.preset.slug: (item, (folder / item.file_name).read_bytes()) for item in delivery.items.all()}


def _stripped_copy(data: bytes, *, scale: float = 0.9, quality: int = 80, fmt: str = "JPEG") -> bytes:
    """What a platform makes of a file: metadata gone, resized, re-encoded."""
    with Image.open(io.BytesIO(data)) as image:
        pixels = image.convert("RGB")
    pixels = pixels.resize((round(pixels.width * scale), round(pixels.height * scale)), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    pixels.save(buffer, format=fmt, quality=quality)
    return buffer.getvalue()


def test_every_delivered_file_carries_its_soft_binding_and_its_manifest_is_kept(siblings):
    for slug, (item, data) in siblings.items():
        credential = Credential.objects.get(version=item.version)
        assert credential.kind == Credential.Kind.DELIVERED and credential.file_sha256 == item.version.blob_id
        report = manifest_read(data=data, media_type="image/jpeg")
        assert report.state == "trusted" and report.manifest["label"] == credential.manifest_id
        binding = next(a["data"] for a in report.manifest["assertions"] if a["label"] == "c2pa.soft-binding")
        assert binding["alg"] == ISCC_ALG and binding["blocks"][0]["value"] == credential.iscc
        with Image.open(io.BytesIO(data)) as image:
            # Anyone computing ISCC from the delivered file gets the bound code.
            assert content_code(image).iscc == credential.iscc, slug
        assert bytes(credential.store)[4:8] == b"jumb", "the manifest store as signed (JUMBF)"


def test_a_stripped_resized_copy_is_traced_to_the_file_not_a_sibling(siblings, tmp_path, capsys):
    for slug, (item, data) in siblings.items():
        result = file_verify(data=_stripped_copy(data))
        assert result.manifest == "absent" and result.match == "soft_binding", slug
        named = [result.version_id, *result.alike]
        if slug.startswith("square"):
            # The same crop at two sizes: the answer names both, the file among them.
            assert item.version_id in named and len(named) == 2, slug
        else:
            assert result.version_id == item.version_id and result.alike == [], slug
            assert (result.preset, result.file_name) == (slug, item.file_name)
        assert result.repository_manifest == Credential.objects.get(version_id=result.version_id).manifest_id
        assert result.lineage_page == f"/admin/assets/version/{result.version_id}/change/"
    feed, data = siblings["feed-4x5"]
    copy = tmp_path / "from-instagram.jpg"
    copy.write_bytes(_stripped_copy(data, scale=0.5, quality=50))
    from django.core.management import call_command

    call_command("verify", str(copy))
    out = capsys.readouterr().out
    assert f"version {feed.version_id}" in out and "soft binding" in out and feed.file_name in out


def test_unrelated_pictures_resolve_to_nothing(siblings):
    for seed in range(5):
        noise = Image.effect_noise((160, 200), 40 + seed * 10).convert("RGB")
        buffer = io.BytesIO()
        noise.save(buffer, format="JPEG")
        assert file_verify(data=buffer.getvalue()).match == "none"


def test_the_resolution_api_answers_by_binding_content_and_manifest_id(siblings, people):
    item, data = siblings["feed-4x5"]
    credential = Credential.objects.get(version=item.version)
    api = api_as(people["client"])
    by_get = api.get("/api/c2pa/matches/byBinding", {"alg": ISCC_ALG, "value": credential.iscc, "maxResults": 10})
    assert by_get.status_code == 200, by_get.content
    found = {match["manifestId"]: match["similarityScore"] for match in by_get.json()["matches"]}
    assert found[credential.manifest_id] == 100
    by_post = api.post(
        "/api/c2pa/matches/byBinding?maxResults=1", {"alg": ISCC_ALG, "value": credential.iscc}, format="json"
    )
    assert by_post.status_code == 200 and len(by_post.json()["matches"]) == 1
    by_content = api.post("/api/c2pa/matches/byContent?alg=io.iscc.v0", _stripped_copy(data), content_type="image/jpeg")
    assert by_content.status_code == 200, by_content.content
    assert by_content.json()["matches"][0]["manifestId"] == credential.manifest_id
    store = api.get(f"/api/c2pa/manifests/{credential.manifest_id}")
    assert store.status_code == 200 and store["Content-Type"] == "application/c2pa"
    assert store.content == bytes(credential.store)
    algorithms = api.get("/api/c2pa/services/supportedAlgorithms").json()
    assert algorithms == {"watermarks": [], "fingerprints": [{"alg": ISCC_ALG}]}


def test_the_resolution_api_is_scoped_and_refuses_bad_input(siblings, people):
    item, data = siblings["feed-4x5"]
    credential = Credential.objects.get(version=item.version)
    stranger = member("otto", CLIENT_REVIEWER, make_brief(client_name="Other Co", title="Other").campaign.client)
    api = api_as(stranger)
    assert api.get("/api/c2pa/matches/byBinding", {"alg": ISCC_ALG, "value": credential.iscc}).json() == {"matches": []}
    assert api.post("/api/c2pa/matches/byContent", data, content_type="image/jpeg").json() == {"matches": []}
    assert api.get(f"/api/c2pa/manifests/{credential.manifest_id}").status_code == 404
    from rest_framework.test import APIClient

    assert APIClient().get(f"/api/c2pa/manifests/{credential.manifest_id}").status_code in (401, 403)
    own = api_as(people["client"])
    for query, phrase in [
        ({"alg": "com.adobe.trustmark.Q", "value": credential.iscc}, "unsupported soft binding algorithm"),
        ({"alg": ISCC_ALG, "value": "ISCC:notacode"}, "ISCC"),
        (
            {"alg": ISCC_ALG, "value": "ISCC:KACYPXW445FTYNJ3CYSXHAFJMA2HUWULUNRFE3BLHRSCXYH2M5AEGQY"},
            "Content-Code Image",
        ),
        ({"alg": ISCC_ALG}, "value"),
        ({"alg": ISCC_ALG, "value": credential.iscc, "maxResults": "0"}, "maxResults"),
        ({"alg": ISCC_ALG, "value": credential.iscc, "maxResults": "many"}, "maxResults"),
    ]:
        response = own.get("/api/c2pa/matches/byBinding", query)
        assert response.status_code == 400 and phrase in json.dumps(response.json()), (query, response.content)
    assert own.post("/api/c2pa/matches/byBinding", [ISCC_ALG, credential.iscc], format="json").status_code == 400
    empty = own.post("/api/c2pa/matches/byContent", b"", content_type="image/jpeg")
    assert empty.status_code == 400
    not_image = own.post("/api/c2pa/matches/byContent", b"GIF89a not really", content_type="image/gif")
    assert not_image.status_code == 400
