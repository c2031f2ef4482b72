"""Attacks on issue 31 (the manifest repository, the Soft Binding Resolution API, verify's soft-binding matching,
export for retouching, parent matching of files brought back, foreign manifests, MPO, Midjourney), through routes the
issue does not name. Alice produces (studio-wide), Bob reviews internally, Dana reviews for Aurora (client A),
Charlie for Borealis (client B), Pia produces for Borealis only (a scoped producer).

Six of these found holes when they were written (a 500 on a Unicode digit, studio-only manifest ids named to a client,
a 500 on a lineage assertion that is not an object and on a nameless foreign action, a quadratic job-id search, a
kept-in prompt in the bundle); they hold the fixes.
"""

from __future__ import annotations

import io
import random
import struct
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, PngImagePlugin

import tests.delivery.conftest as delivery_fixtures
from assets.c2pa_stores import manifest_store_extract
from assets.content_codes import ISCC_ALG, content_code
from assets.demo import mood_board_image
from assets.foreign_recipes import recipe_read
from assets.incoming import MAX_ACTIONS, MAX_TEXT, xmp_ids_read
from assets.models import Credential, Version
from assets.services.blobs import blob_open
from assets.services.versions import version_import
from delivery.demo_retouch import outside_retouch
from delivery.keys import dev_ca_create
from review.roles import PRODUCER
from tests.factories import api_as, image_bytes, member
from tests.security.conftest import row_counts

pytestmark = pytest.mark.django_db
# An approved master made by a tiny generation (its prompt: "a can on a roof"), as the delivery tests make it.
people, generated, master = delivery_fixtures.people, delivery_fixtures.generated, delivery_fixtures.master
DIGITAL_CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"


# --- helpers -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_keys():
    """A CA of the attacker's own: c2pa calls its manifests valid (integrity holds), never trusted."""
    return dev_ca_create(folder=Path(tempfile.mkdtemp(prefix="hostile-ca-")), organisation="Hostile tool")


@pytest.fixture
def pia(cast):
    return member("pia", PRODUCER, cast["brief_b"].campaign.client)


def c2pa_signed(data: bytes, manifest: dict, keys: dict, media_type: str = "image/jpeg") -> bytes:
    import c2pa

    context = c2pa.Context(c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}}))
    signer = c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(
            alg=b"es256", sign_cert=keys["chain"].read_bytes(), private_key=keys["key"].read_bytes(), ta_url=None
        )
    )
    signed = io.BytesIO()
    c2pa.Builder(manifest, context).sign(signer, media_type, io.BytesIO(data), signed)
    return signed.getvalue()


def foreign_manifest(*, actions: list[dict], generator: str = "Hostile 1", extra: list[dict] = ()) -> dict:
    opened = {"action": "c2pa.created", "digitalSourceType": DIGITAL_CAPTURE}
    return {
        "claim_generator_info": [{"name": generator, "version": "1"}],
        "title": "hostile.jpg",
        "format": "image/jpeg",
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": [opened, *actions]}}, *extra],
    }


def picture_jpeg(index: int, size=(160, 200)) -> bytes:
    with Image.open(io.BytesIO(mood_board_image(index=index, size=size))) as image:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def picture_version(cast, *, index: int, brief="brief_a") -> Version:
    data = mood_board_image(index=index, size=(192, 256))
    return version_import(brief=cast[brief], source=ContentFile(data, name=f"picture-{index}.png"), label=f"p{index}")


def upload(data: bytes, name: str):
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def raw_api(user):
    api = api_as(user)
    api.raise_request_exception = False  # a 500 is an answer here, not an exception in the test
    return api


def import_as(user, brief, data: bytes, name="incoming.jpg", **fields):
    return raw_api(user).post(
        "/api/versions/import/", {"brief": brief.pk, "image": upload(data, name), **fields}, format="multipart"
    )


def verify_as(user, data: bytes, name="copy.jpg"):
    return raw_api(user).post("/api/verify/", {"file": upload(data, name)}, format="multipart")


def blobs_state() -> dict:
    root = Path(settings.MEDIA_ROOT) / "blobs"
    return {str(p): p.stat().st_size for p in root.rglob("*") if p.is_file()} if root.exists() else {}


def stripped(data: bytes, *, scale=0.9, quality=80) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        pixels = image.convert("RGB")
    pixels = pixels.resize((round(pixels.width * scale), round(pixels.height * scale)), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    pixels.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def credential_row(version: Version, kind: str, *, index: int) -> Credential:
    """A kept manifest as the repository holds one (the store's bytes do not matter to scoping)."""
    with Image.open(io.BytesIO(mood_board_image(index=index, size=(160, 200)))) as image:
        code = content_code(image)
    return Credential.objects.create(
        manifest_id=f"urn:c2pa:{uuid.uuid4()}",
        version=version,
        kind=kind,
        store=b"\x00\x00\x00\x08jumb c2pa store " + str(index).encode(),
        file_sha256=version.blob_id,
        media_type="image/jpeg",
        width=160,
        height=200,
        iscc=code.iscc,
        iscc_image=code.bits,
    )


# --- the Soft Binding Resolution API ------------------------------------------------------------------------------


def test_resolution_api_answers_nothing_across_clients_nor_studio_rows_to_clients(cast, pia):
    a_delivered = credential_row(cast["version_a"], Credential.Kind.DELIVERED, index=11)
    a_export = credential_row(cast["version_a2"], Credential.Kind.RETOUCH_EXPORT, index=12)
    b_delivered = credential_row(cast["version_b"], Credential.Kind.DELIVERED, index=13)

    def answers(user, credential) -> tuple[list[str], int, bytes]:
        api = raw_api(user)
        found = api.get("/api/c2pa/matches/byBinding", {"alg": ISCC_ALG, "value": credential.iscc, "maxResults": 100})
        assert found.status_code == 200, found.content
        store = api.get(f"/api/c2pa/manifests/{credential.manifest_id}")
        return [m["manifestId"] for m in found.json()["matches"]], store.status_code, store.content

    missing = raw_api(cast["charlie"]).get("/api/c2pa/manifests/urn:c2pa:00000000-0000-0000-0000-000000000000")
    for user, credential in [
        (cast["charlie"], a_delivered),
        (cast["charlie"], a_export),
        (pia, a_delivered),
        (pia, a_export),
        (cast["dana"], b_delivered),
        (cast["dana"], a_export),  # a studio working file of the client's own version
    ]:
        ids, status, body = answers(user, credential)
        assert credential.manifest_id not in ids, (user.username, credential.kind)
        # Refused exactly as a manifest that does not exist: not a word more.
        assert (status, body) == (404, missing.content), (user.username, credential.kind)
    assert a_delivered.manifest_id in answers(cast["dana"], a_delivered)[0]
    assert answers(pia, b_delivered)[1] == 200
    assert answers(cast["alice"], a_export)[1] == 200
    # byContent, the same: Charlie's copy of A's picture finds nothing.
    copy = picture_jpeg(11)
    found = raw_api(cast["charlie"]).post("/api/c2pa/matches/byContent", copy, content_type="image/jpeg")
    assert found.status_code == 200 and found.json() == {"matches": []}
    assert raw_api(cast["dana"]).post("/api/c2pa/matches/byContent", copy, content_type="image/jpeg").json()["matches"][
        0
    ]["manifestId"] == (a_delivered.manifest_id)


def test_max_results_with_a_unicode_digit_is_a_400_not_a_500(cast):
    """`str.isdigit()` is true for "²" and other Unicode digits that int() refuses: they are a 400 like any word."""
    credential = credential_row(cast["version_a"], Credential.Kind.DELIVERED, index=21)
    api = raw_api(cast["dana"])
    for value in ("\u00b2", "\u2460", "\u00b9\u2070"):
        response = api.get(
            "/api/c2pa/matches/byBinding", {"alg": ISCC_ALG, "value": credential.iscc, "maxResults": value}
        )
        assert response.status_code == 400, (value, response.status_code)


@pytest.mark.parametrize(
    "body,content_type",
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png"),
        (image_bytes(size=(64, 64))[:-30], "image/png"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "image/svg+xml"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 10, "image/jpeg"),
    ],
)
def test_resolution_by_content_refuses_bad_bodies_with_a_400(cast, untouched, body, content_type):
    from tests.security.hostile import png_bomb

    api = raw_api(cast["dana"])
    for data in (body, png_bomb()):
        response = api.post("/api/c2pa/matches/byContent", data, content_type=content_type)
        assert response.status_code == 400, (response.status_code, response.content[:200])
        assert response.json().get("message"), response.content[:200]
    big = api.post("/api/c2pa/matches/byContent?maxResults=101", image_bytes(), content_type="image/png")
    assert big.status_code == 400


# --- verify ---------------------------------------------------------------------------------------------------------


def test_verify_by_a_client_of_another_clients_file_learns_nothing(cast):
    credential_row(cast["version_a"], Credential.Kind.DELIVERED, index=31)
    result = verify_as(cast["charlie"], picture_jpeg(31))
    assert result.status_code == 200, result.content
    body = result.json()
    assert (body["match"], body["version_id"], body["repository_manifest"], body["alike"]) == ("none", None, None, [])


def test_verify_never_names_a_studio_only_manifest_to_a_client_reviewer(cast):
    """verify looks manifests up among those the asker may see, for the exact file and for a copy: a client reviewer
    is never told the manifest id of a retouch export, a studio row Credential.access keeps from clients (and which
    GET /api/c2pa/manifests/{id} refuses them)."""
    version = picture_version(cast, index=32)
    exported = raw_api(cast["alice"]).post(f"/api/versions/{version.pk}/retouch-export/")
    assert exported.status_code == 200, exported.content
    export_id = exported["X-Seed-Credential"]
    assert raw_api(cast["dana"]).get(f"/api/c2pa/manifests/{export_id}").status_code == 404
    with blob_open(blob=version.blob) as handle:
        master = handle.read()
    named = {
        "exact master": verify_as(cast["dana"], master, name="master.png").json(),
        "copy of the export": verify_as(cast["dana"], stripped(exported.content)).json(),
    }
    leaked = {how: body["repository_manifest"] for how, body in named.items() if body["repository_manifest"]}
    assert export_id not in leaked.values(), leaked


def test_verify_of_a_file_whose_lineage_assertion_is_not_an_object_is_not_a_500(cast, hostile_keys):
    """A manifest that validates (any CA) with com.seed.lineage holding a list, a string or a number is read as no
    lineage of ours; any signed-in user can send it to POST /api/verify/."""
    for lineage in (["not", "an", "object"], "a string", 42):
        hostile = c2pa_signed(
            picture_jpeg(33),
            foreign_manifest(actions=[], extra=[{"label": "com.seed.lineage", "data": lineage}]),
            hostile_keys,
        )
        response = verify_as(cast["charlie"], hostile)
        assert response.status_code in (200, 400), (lineage, response.status_code)


# --- export for retouching ------------------------------------------------------------------------------------------


def test_retouch_export_is_refused_to_everyone_but_producers_who_see_the_version(cast, pia, untouched):
    version_a = cast["version_a"]
    for user, expected in [
        (cast["dana"], 403),  # a client reviewer, of a version she sees
        (cast["bob"], 403),  # an internal reviewer
        (cast["charlie"], 403),  # another client's reviewer
        (pia, 404),  # a producer scoped to client B: A's version does not exist for her
    ]:
        response = raw_api(user).post(f"/api/versions/{version_a.pk}/retouch-export/")
        assert response.status_code == expected, (user.username, response.status_code, response.content[:200])
        assert "X-Seed-Credential" not in response
    # Another client's version is refused in the very words of one that does not exist.
    missing = raw_api(pia).post("/api/versions/99999999/retouch-export/")
    hidden = raw_api(pia).post(f"/api/versions/{version_a.pk}/retouch-export/")
    assert missing.json()["message"] == "version 99999999 does not exist"
    assert hidden.json() == {**missing.json(), "message": f"version {version_a.pk} does not exist"}
    assert raw_api(cast["alice"]).get(f"/api/versions/{version_a.pk}/retouch-export/").status_code == 405


# --- parent matching of files brought back --------------------------------------------------------------------------


def test_a_retouch_of_client_as_export_never_attaches_to_nor_names_a_version_of_a(cast, pia, hostile_keys):
    """Pia (client B's producer) brings back a retouch of A's export into B's brief: Seed must not find A's version
    (or name any of A's versions among the candidates of its 409), and must not write a row or a blob."""
    version = picture_version(cast, index=41)
    exported = raw_api(cast["alice"]).post(f"/api/versions/{version.pk}/retouch-export/").content
    retouched = outside_retouch(exported=exported, keys=hostile_keys)
    a_versions = set(
        Version.objects.filter(brief__campaign__client=cast["brief_a"].campaign.client).values_list("pk", flat=True)
    )
    before = (row_counts(), blobs_state())
    response = import_as(pia, cast["brief_b"], retouched)
    assert response.status_code in (201, 409), (response.status_code, response.content[:300])
    if response.status_code == 409:
        extra = response.json()["extra"]
        assert not {c["version"] for c in extra["candidates"]} & a_versions
        assert {c["brief"] for c in extra["candidates"]} <= {cast["brief_b"].pk}
        assert (row_counts(), blobs_state()) == before, "a 409 left rows or blobs behind"
    else:
        child = Version.objects.get(pk=response.json()["id"])
        parents = child.generated_by.derivation.used.filter(role="parent").values_list("version_id", flat=True)
        assert not set(parents) & a_versions
    # Naming A's version outright: refused as a version that does not exist (Pia cannot see it).
    named = import_as(pia, cast["brief_b"], retouched, name="named.jpg", parent=version.pk)
    assert named.status_code == 400 and str(version.pk) in str(named.json()), named.content[:300]
    # Alice sees both clients, but a parent is never taken across them.
    across = import_as(cast["alice"], cast["brief_b"], retouched, name="across.jpg", parent=version.pk)
    assert across.status_code == 400, (across.status_code, across.content[:300])


def test_parent_matching_asks_over_the_api_without_leaving_anything_behind(cast):
    """A file saying it was derived from an unknown document: 409, no row, no blob (thumbnails are a cache)."""
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" '
        'xmlns:stRef="http://ns.adobe.com/xap/1.0/sType/ResourceRef#">'
        '<xmpMM:DerivedFrom stRef:documentID="xmp.did:nobody-knows"/></rdf:Description></rdf:RDF></x:xmpmeta>'
    )
    buffer = io.BytesIO()
    Image.open(io.BytesIO(picture_jpeg(42))).save(buffer, format="JPEG", xmp=xmp.encode())
    before = (row_counts(), blobs_state())
    response = import_as(cast["alice"], cast["brief_a"], buffer.getvalue())
    assert response.status_code == 409, (response.status_code, response.content[:300])
    assert response.json()["extra"]["code"] == "parent_unknown"
    assert (row_counts(), blobs_state()) == before


# --- foreign manifests: hostile text, many actions, blank names ------------------------------------------------------


def test_foreign_manifest_text_is_bounded_stored_and_escaped(cast, hostile_keys, client):
    agent = {"name": "<b onmouseover=alert(2)>Tool</b>\x00\x1b[31m"}
    actions = [
        {"action": f"c2pa.<img src=x onerror=alert({i})>\x07" + "A" * 150, "softwareAgent": agent} for i in range(2000)
    ]
    hostile = c2pa_signed(
        picture_jpeg(51),
        foreign_manifest(actions=actions, generator="<script>alert(1)</script>\x01" + "G" * 5000),
        hostile_keys,
    )
    started = time.monotonic()
    response = import_as(cast["alice"], cast["brief_a"], hostile, parent="none")
    assert response.status_code == 201, (response.status_code, response.content[:300])
    assert time.monotonic() - started < 30
    params = Version.objects.get(pk=response.json()["id"]).generated_by.derivation.params
    recorded = params["credentials"]
    assert len(recorded["actions"]) <= MAX_ACTIONS
    texts = [recorded["claim_generator"], recorded["title"], *(v for a in recorded["actions"] for v in a.values())]
    assert all(len(text) <= MAX_TEXT and "\x00" not in text for text in texts)
    kept = Credential.objects.get(version_id=response.json()["id"], kind=Credential.Kind.IMPORTED)
    assert len(kept.claim_generator) <= 200
    client.force_login(cast["alice"])
    page = client.get(f"/admin/assets/version/{response.json()['id']}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<script>alert(1)" not in html and "<img src=x onerror" not in html and "<b onmouseover" not in html
    assert "&lt;script&gt;alert(1)" in html, "the claim generator is shown, escaped"


@pytest.mark.parametrize("name", ["   ", "\x00", "c2pa.edited\x00"])
def test_an_action_whose_name_is_blank_or_holds_nul_is_not_a_500(cast, hostile_keys, client, name):
    """An action whose name is empty or cannot be stored (NUL) is not recorded: the import's description of the edits,
    the delivery's actions and the admin's "brought in with" panel read every recorded action's name."""
    hostile = c2pa_signed(picture_jpeg(52), foreign_manifest(actions=[{"action": name}]), hostile_keys)
    before = (row_counts(), blobs_state())
    response = import_as(cast["alice"], cast["brief_a"], hostile, parent="none")
    assert response.status_code in (201, 400), (name, response.status_code)
    if response.status_code == 400:
        assert (row_counts(), blobs_state()) == before
        return
    client.force_login(cast["alice"])
    assert client.get(f"/admin/assets/version/{response.json()['id']}/change/").status_code == 200


def test_the_same_foreign_file_imported_twice_keeps_one_manifest(cast, hostile_keys):
    hostile = c2pa_signed(picture_jpeg(53), foreign_manifest(actions=[{"action": "c2pa.resized"}]), hostile_keys)
    first = import_as(cast["alice"], cast["brief_a"], hostile, name="one.jpg", parent="none")
    second = import_as(cast["alice"], cast["brief_a"], hostile, name="two.jpg", parent="none")
    assert (first.status_code, second.status_code) == (201, 201), second.content[:300]
    ids = [first.json()["id"], second.json()["id"]]
    assert Credential.objects.filter(version_id__in=ids, kind=Credential.Kind.IMPORTED).count() == 1


# --- crafted containers: APP11 and caBX that lie, XMP bombs, MPO ----------------------------------------------------


def _segments_lying(signed: bytes) -> list[bytes]:
    """The signed JPEG with its first APP11 segment's length made to lie, its packets duplicated or cut."""
    app11 = signed.index(b"\xff\xeb")
    variants = []
    for length in (0, 1, 2, 9, 0xFFFF, len(signed)):
        data = bytearray(signed)
        data[app11 + 2 : app11 + 4] = struct.pack(">H", min(length, 0xFFFF))
        variants.append(bytes(data))
    (length,) = struct.unpack(">H", signed[app11 + 2 : app11 + 4])
    segment = signed[app11 : app11 + 2 + length]
    variants.append(signed[:app11] + segment * 400 + signed[app11:])  # the same packet over and over
    variants.append(signed[: app11 + 40])  # cut inside the store
    return variants


def test_manifest_store_extract_never_raises_on_lying_containers(hostile_keys):
    jpeg = c2pa_signed(picture_jpeg(61), foreign_manifest(actions=[]), hostile_keys)
    png = c2pa_signed(
        mood_board_image(index=61, size=(64, 64)), foreign_manifest(actions=[]), hostile_keys, "image/png"
    )
    assert manifest_store_extract(data=jpeg, media_type="image/jpeg")[4:8] == b"jumb"
    cabx = png.index(b"caBX")
    forged = bytearray(png)
    forged[cabx - 4 : cabx] = struct.pack(">I", 0xFFFFFFF0)  # a caBX chunk that claims 4 GiB
    rng = random.Random(31)
    mutants = [*_segments_lying(jpeg), bytes(forged), png[: cabx + 20]]
    for _ in range(150):
        data = bytearray(rng.choice([jpeg, png]))
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        mutants.append(bytes(data))
    started = time.monotonic()
    for data in mutants:
        for media_type in ("image/jpeg", "image/png", "image/webp"):
            store = manifest_store_extract(data=data, media_type=media_type)
            assert store is None or (store[4:8] == b"jumb" and len(store) <= len(data))
    assert time.monotonic() - started < 5


def _xmp_png(xmp: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp)
    buffer = io.BytesIO()
    Image.open(io.BytesIO(mood_board_image(index=71, size=(96, 96)))).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + ']><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmpMM:DocumentID="&j;" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"/></rdf:RDF></x:xmpmeta>'
)
EXTERNAL = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmpMM:DocumentID="&e;" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"/></rdf:RDF></x:xmpmeta>'
)
DEEP = '<x:xmpmeta xmlns:x="adobe:ns:meta/">' + "<a>" * 20000 + "</a>" * 20000 + "</x:xmpmeta>"


@pytest.mark.parametrize("xmp", [BILLION_LAUGHS, EXTERNAL, DEEP], ids=["entities", "external", "deep"])
def test_hostile_xmp_reads_as_none_and_imports_and_verifies_quickly(cast, xmp):
    data = _xmp_png(xmp)
    started = time.monotonic()
    assert xmp_ids_read(xmp) == xmp_ids_read(None)
    verified = verify_as(cast["dana"], data, name="x.png")
    assert verified.status_code == 200 and verified.json()["marks"]["iptc_ai"] == {}, verified.content[:300]
    imported = import_as(cast["alice"], cast["brief_a"], data, name="x.png")
    assert imported.status_code == 201, imported.content[:300]
    assert "passwd" not in str(Version.objects.get(pk=imported.json()["id"]).generated_by.derivation.params)
    assert time.monotonic() - started < 20


def test_huge_xmp_is_refused_with_a_400_and_nothing_written(cast, untouched):
    packet = '<x:xmpmeta xmlns:x="adobe:ns:meta/">' + " " * (settings.SEED_MAX_METADATA_BYTES * 4 + 10) + "</x:xmpmeta>"
    data = _xmp_png(packet)
    for response in (
        import_as(cast["alice"], cast["brief_a"], data, name="x.png"),
        verify_as(cast["dana"], data, "x.png"),
    ):
        assert response.status_code == 400 and response.json()["extra"]["code"] == "metadata_too_large"


def _mpo_with_bomb_preview() -> bytes:
    primary = Image.open(io.BytesIO(mood_board_image(index=81, size=(128, 96)))).convert("RGB")
    preview = primary.resize((32, 24))
    buffer = io.BytesIO()
    primary.save(buffer, format="MPO", save_all=True, append_images=[preview], quality=90)
    data = bytearray(buffer.getvalue())
    second = data.index(b"\xff\xd8", 2 + data.index(b"\xff\xd9", data.index(b"\xff\xda")))
    sof = data.index(b"\xff\xc0", second)
    data[sof + 5 : sof + 9] = struct.pack(">HH", 30000, 30000)  # the preview claims 900 Mpx
    return bytes(data)


def test_an_mpo_whose_preview_frame_is_a_bomb_is_never_decoded(cast):
    data = _mpo_with_bomb_preview()
    with Image.open(io.BytesIO(data)) as opened:
        assert opened.format == "MPO" and opened.n_frames == 2
    started = time.monotonic()
    imported = import_as(cast["alice"], cast["brief_a"], data, name="camera.jpg")
    assert imported.status_code in (201, 400), (imported.status_code, imported.content[:300])
    verified = verify_as(cast["dana"], data, name="camera.jpg")
    assert verified.status_code in (200, 400), verified.content[:300]
    found = raw_api(cast["dana"]).post("/api/c2pa/matches/byContent", data, content_type="image/jpeg")
    assert found.status_code in (200, 400)
    assert time.monotonic() - started < 30
    if imported.status_code == 201:
        version = Version.objects.get(pk=imported.json()["id"])
        assert (version.width, version.height, version.format) == (128, 96, "JPEG")
        assert raw_api(cast["dana"]).get(f"/api/versions/{version.pk}/").status_code == 200


# --- the Midjourney importer ----------------------------------------------------------------------------------------


def test_midjourney_job_id_search_stays_linear_in_whitespace():
    """The job id is searched in every imported file's description: a pattern that could start anywhere in a run of N
    spaces costs O(N²), and a PNG `Description` may be 2 MB (hours of CPU for one upload). 30 000 spaces must take
    no time."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Description", "x" + " " * 30000 + "y")
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(buffer, format="PNG", pnginfo=info)
    buffer.seek(0)
    started = time.monotonic()
    assert recipe_read(source=buffer) is None
    assert time.monotonic() - started < 0.5, f"{time.monotonic() - started:.1f} s for 30 000 spaces"


# --- the credential admin -------------------------------------------------------------------------------------------


def test_credential_admin_shows_a_client_only_its_delivered_manifests(cast, pia, client):
    a_delivered = credential_row(cast["version_a"], Credential.Kind.DELIVERED, index=91)
    a_export = credential_row(cast["version_a2"], Credential.Kind.RETOUCH_EXPORT, index=92)
    b_delivered = credential_row(cast["version_b"], Credential.Kind.DELIVERED, index=93)
    for user, shown, hidden in [
        (cast["dana"], [a_delivered], [a_export, b_delivered]),
        (cast["charlie"], [b_delivered], [a_delivered, a_export]),
        (pia, [b_delivered], [a_delivered, a_export]),
    ]:
        client.force_login(user)
        listing = client.get("/admin/assets/credential/", {"q": ""})
        assert listing.status_code == 200, (user.username, listing.status_code)
        text = listing.content.decode()
        assert all(c.manifest_id in text for c in shown), user.username
        assert not any(c.manifest_id in text for c in hidden), user.username
        for credential in hidden:
            found = client.get("/admin/assets/credential/", {"q": credential.manifest_id})
            assert "0 results" in found.content.decode(), (user.username, credential.kind)
            page = client.get(f"/admin/assets/credential/{credential.pk}/change/")
            assert page.status_code in (302, 404), (user.username, credential.kind, page.status_code)
        assert b"jumb c2pa store" not in client.get(f"/admin/assets/credential/{shown[0].pk}/change/").content


# --- a recipe kept in (recipe_exposure "none") and the bundle -------------------------------------------------------


def test_a_kept_in_prompt_stays_out_of_the_bundle_a_client_reviewer_downloads(people, master, run_jobs):
    """docs/producer.md: "Use it when a campaign's prompts are the client's confidential work". With a preset of a
    delivery at recipe_exposure "none", neither the files nor the bundle's lineage.json (the whole graph) carry the
    prompt or the text its encoders read, though any client reviewer of the brief downloads the bundle."""
    import zipfile

    from assets.access import reads_lineage
    from delivery.models import ChannelPreset, Delivery
    from delivery.services.deliveries import delivery_create
    from tests.delivery.test_delivery_flow import small_preset

    prompt = master.generated_by.derivation.used.get(role="prompt").prompt.text
    preset = small_preset(slug="kept-in", recipe_exposure=ChannelPreset.RecipeExposure.NONE)
    with run_jobs():
        delivery = delivery_create(version=master, presets=[preset], created_by=people["producer"], override_reason="t")
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED, delivery.error
    assert not people["brief"].campaign.client.shares_lineage
    assert not reads_lineage(user=people["client"], brief=people["brief"])
    bundle = raw_api(people["client"]).get(f"/api/deliveries/{delivery.pk}/bundle/")
    assert bundle.status_code == 200
    with zipfile.ZipFile(io.BytesIO(b"".join(bundle.streaming_content))) as archive:
        carrying = [name for name in archive.namelist() if prompt.encode() in archive.read(name)]
    assert carrying == [], f"the prompt {prompt!r} is in {carrying}"
