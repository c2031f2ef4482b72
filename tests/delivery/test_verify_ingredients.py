"""`verify` names each ingredient of a file's manifest and whether the ingredient's own manifest validates: the SDK
keeps the file's verdict Valid when only an ingredient failed (the C2PA conformance case CIE-sig), and a person must
still be told. Files are signed here with c2pa itself, by our development CA and by another studio's."""

import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from PIL import Image

from delivery.keys import dev_ca_create
from delivery.selectors import file_verify
from tests.factories import api_as, image_bytes, make_brief, member

CONFORMANCE = Path(__file__).resolve().parents[1] / "data" / "c2pa-conformance"


def c2pa_sign(data: bytes, *, keys: dict, title: str, actions: list[dict], ingredients=()) -> bytes:
    """`data` (a JPEG) signed by `keys` (dev_ca_create's), each ingredient a (title, relationship, JPEG bytes)."""
    import c2pa

    from assets.c2pa_reading import c2pa_settings

    signer = c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(
            alg=b"es256", sign_cert=keys["chain"].read_bytes(), private_key=keys["key"].read_bytes(), ta_url=None
        )
    )
    context = c2pa.Context(c2pa.Settings.from_dict(c2pa_settings(trust_anchors=keys["root"].read_text())))
    manifest = {
        "claim_generator_info": [{"name": "a test", "version": "1"}],
        "title": title,
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": actions}}],
    }
    builder = c2pa.Builder(manifest, context)
    for name, relationship, ingredient in ingredients:
        definition = {"title": name, "relationship": relationship, "label": name, "instance_id": name}
        builder.add_ingredient(definition, "image/jpeg", io.BytesIO(ingredient))
    signed = io.BytesIO()
    builder.sign(signer, "image/jpeg", io.BytesIO(data), signed)
    return signed.getvalue()


def _app11_end(data: bytes) -> int:
    """Offset just past the last APP11 segment, where c2pa writes the manifest store and, last in it, the signature."""
    offset, end = 2, 0
    while data[offset + 1] != 0xDA:
        length = int.from_bytes(data[offset + 2 : offset + 4], "big")
        if data[offset + 1] == 0xEB:
            end = offset + 2 + length
        offset += 2 + length
    return end


def _flipped(data: bytes, offset: int) -> bytes:
    changed = bytearray(data)
    changed[offset] ^= 0x01
    return bytes(changed)


CREATED = [{"action": "c2pa.created", "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/composite"}]


@pytest.fixture
def composite(db, tmp_path):
    """A file signed by us whose ingredients are: a parent signed by another studio, an ingredient whose signature
    was broken after signing (CIE-sig), one whose pixels were changed after signing, and a plain JPEG."""
    ours = {"chain": settings.SEED_C2PA_CERT, "key": settings.SEED_C2PA_KEY, "root": settings.SEED_C2PA_TRUST_ANCHORS}
    theirs = dev_ca_create(folder=tmp_path / "elsewhere", organisation="Another studio")

    def part(colour) -> bytes:
        return c2pa_sign(
            image_bytes(size=(48, 32), colour=colour, image_format="JPEG"), keys=theirs, title="p", actions=CREATED
        )

    broken_signature = part((10, 200, 10))
    broken_signature = _flipped(broken_signature, _app11_end(broken_signature) - 10)
    changed_pixels = part((10, 10, 200))
    changed_pixels = _flipped(changed_pixels, len(changed_pixels) - 200)
    ingredients = [
        ("background.jpg", "parentOf", part((200, 10, 10))),
        ("logo.jpg", "componentOf", broken_signature),
        ("texture.jpg", "componentOf", changed_pixels),
        ("sketch.jpg", "inputTo", image_bytes(size=(48, 32), image_format="JPEG")),
    ]
    actions = [
        {"action": "c2pa.opened", "parameters": {"ingredientIds": ["background.jpg"]}},
        {"action": "c2pa.placed", "parameters": {"ingredientIds": ["logo.jpg", "texture.jpg"]}},
    ]
    return c2pa_sign(
        image_bytes(size=(64, 48), colour=(90, 90, 90), image_format="JPEG"),
        keys=ours,
        title="poster.jpg",
        actions=actions,
        ingredients=ingredients,
    )


def test_an_ingredient_whose_own_manifest_fails_is_named_while_the_verdict_stays_the_sdks(composite):
    result = file_verify(data=composite)
    assert result.manifest == "trusted", "the SDK keeps the active manifest valid; so do we"
    states = {i["title"]: (i["relationship"], i["state"], i["codes"]) for i in result.ingredients}
    assert states == {
        "background.jpg": ("parentOf", "valid", ["signingCredential.untrusted"]),
        "logo.jpg": ("componentOf", "invalid", ["signingCredential.untrusted", "claimSignature.mismatch"]),
        "texture.jpg": ("componentOf", "invalid", ["signingCredential.untrusted", "assertion.dataHash.mismatch"]),
        "sketch.jpg": ("inputTo", "absent", []),
    }
    assert all(i["manifest"] for i in result.ingredients if i["state"] != "absent")
    assert result.ingredient_statements == [
        "ingredient 'logo.jpg' does not validate: claimSignature.mismatch",
        "ingredient 'texture.jpg' does not validate: assertion.dataHash.mismatch",
    ]


def test_the_command_and_the_api_say_which_ingredient_fails(composite, tmp_path, capsys):
    path = tmp_path / "poster.jpg"
    path.write_bytes(composite)
    call_command("verify", str(path))
    out = capsys.readouterr().out
    assert "manifest trusted" in out
    assert "ingredient 'logo.jpg' does not validate: claimSignature.mismatch" in out
    assert "ingredient 'background.jpg' (parentOf): its own manifest validates" in out
    assert "ingredient 'sketch.jpg' (inputTo): no manifest of its own" in out
    call_command("verify", str(path), "--json")
    report = json.loads(capsys.readouterr().out)
    assert [i["state"] for i in report["ingredients"]] == ["valid", "invalid", "invalid", "absent"]

    from review.roles import CLIENT_REVIEWER

    reviewer = member("cleo", CLIENT_REVIEWER, make_brief().campaign.client)
    response = api_as(reviewer).post(
        "/api/verify/", {"file": SimpleUploadedFile("poster.jpg", composite)}, format="multipart"
    )
    body = response.json()
    assert response.status_code == 200 and body["manifest"] == "trusted"
    assert body["ingredients"][2] == {
        "title": "texture.jpg",
        "relationship": "componentOf",
        "manifest": body["ingredients"][2]["manifest"],
        "state": "invalid",
        "codes": ["signingCredential.untrusted", "assertion.dataHash.mismatch"],
    }
    assert body["ingredient_statements"][0].startswith("ingredient 'logo.jpg' does not validate")


CONFORMANCE_VERDICTS = {
    # file: (verdict, a code the verdict names, [(ingredient, relationship, state, codes)]); the signer is c2patool's
    # test certificate, never among our trust anchors.
    "adobe-20220124-CII.jpg": (
        "valid_untrusted",
        "signingCredential.untrusted",
        [("I.jpg", "componentOf", "absent", [])],
    ),
    "adobe-20220124-CAICAI.jpg": (
        "valid_untrusted",
        "signingCredential.untrusted",
        [("A.jpg", "parentOf", "absent", []), ("CAI.jpg", "componentOf", "valid", ["signingCredential.untrusted"])],
    ),
    "adobe-20220124-E-clm-CAICAI.jpg": (
        "invalid",
        "ingredient.manifest.missing",
        [("A.jpg", "parentOf", "absent", []), ("CAI.jpg", "componentOf", "invalid", ["ingredient.manifest.missing"])],
    ),
    "adobe-20220124-E-uri-CA.jpg": ("invalid", "assertion.hashedURI.mismatch", [("A.jpg", "parentOf", "absent", [])]),
    "adobe-20220124-XCI.jpg": ("invalid", "assertion.dataHash.mismatch", [("I.jpg", "componentOf", "absent", [])]),
}


@pytest.mark.parametrize("name", sorted(CONFORMANCE_VERDICTS))
def test_the_c2pa_conformance_files_get_their_published_verdicts(db, name):
    verdict, code, ingredients = CONFORMANCE_VERDICTS[name]
    result = file_verify(data=(CONFORMANCE / name).read_bytes(), name=name)
    assert result.manifest == verdict, result.manifest_codes
    assert code in result.manifest_codes
    assert [(i["title"], i["relationship"], i["state"], i["codes"]) for i in result.ingredients] == ingredients
    if name == "adobe-20220124-CAICAI.jpg":
        assert result.ingredients[1]["manifest"] == "contentauth:urn:uuid:8bb8ad50-ef2f-4f75-b709-a0e302d58019"


def test_verify_exits_non_zero_for_an_invalid_file_and_still_lists_its_ingredients(tmp_path, db, capsys):
    path = tmp_path / "E-clm-CAICAI.jpg"
    path.write_bytes((CONFORMANCE / "adobe-20220124-E-clm-CAICAI.jpg").read_bytes())
    with pytest.raises(CommandError, match="does not validate"):
        call_command("verify", str(path))
    assert "ingredient 'CAI.jpg' does not validate: ingredient.manifest.missing" in capsys.readouterr().out


def test_a_re_encoded_copy_keeps_no_ingredients(composite):
    with Image.open(io.BytesIO(composite)) as image:
        copy = io.BytesIO()
        image.save(copy, format="JPEG", quality=80)
    result = file_verify(data=copy.getvalue())
    assert (result.manifest, result.ingredients) == ("absent", [])
