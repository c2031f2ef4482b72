"""Hostile input through every door that takes a file: the upload API, the verify API and CLI, LUTs and masks.

Each case must get a clear 4xx (or a CommandError) and leave no trace: no row, no file, the media root
byte-for-byte as it was. A few well-formed controls make sure the checks do not refuse honest files.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from assets.errors import ApplicationError
from assets.services.versions import version_import
from delivery import signing
from tests.factories import api_as, image_bytes, image_file
from tests.security.conftest import media_state, row_counts
from tests.security.hostile import image_cases

pytestmark = pytest.mark.django_db

IMAGE_CASES = image_cases()


def multipart(fields: dict, *, file_field: str, file_name: str, data: bytes) -> tuple[bytes, str]:
    """A multipart body written by hand: test clients strip path-like file names before sending them."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{file_name}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def upload(client, url: str, fields: dict, *, file_field: str, file_name: str, data: bytes):
    body, content_type = multipart(fields, file_field=file_field, file_name=file_name, data=data)
    return client.generic("POST", url, body, content_type=content_type)


def refused(response, phrase: str) -> str:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    message = response.json()["message"]
    assert phrase.lower() in message.lower(), message
    return message


# Seed delivers print files as TIFF and CMYK: verify reads them (a copy of a delivery must be checkable); uploads
# into the pipeline, which is 8-bit RGB, still refuse them.
PRINT_FILES = ("tiff", "cmyk jpeg")
DOOR_CASES = [
    (door, case)
    for door in ("references", "versions/import", "verify")
    for case in IMAGE_CASES
    if not (door == "verify" and case in PRINT_FILES)
]


@pytest.mark.parametrize(("door", "case"), DOOR_CASES, ids=[f"{door}-{case}" for door, case in DOOR_CASES])
def test_hostile_image_is_refused_through_the_api(cast, untouched, door, case):
    data, name, phrase = IMAGE_CASES[case]
    fields = {} if door == "verify" else {"brief": cast["brief_a"].pk}
    response = upload(
        api_as(cast["alice"]),
        f"/api/{door}/",
        fields,
        file_field="file" if door == "verify" else "image",
        file_name=name,
        data=data,
    )
    refused(response, phrase)


@pytest.mark.parametrize("case", [case for case in IMAGE_CASES if case not in PRINT_FILES])
def test_hostile_image_is_refused_by_the_verify_command(db, tmp_path, untouched, case):
    data, name, phrase = IMAGE_CASES[case]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(CommandError) as error:
        call_command("verify", str(path), stdout=io.StringIO())
    assert phrase.lower() in str(error.value).lower()


@pytest.mark.parametrize("case", PRINT_FILES)
def test_verify_reads_print_files_without_a_manifest_as_absent(cast, untouched, case):
    data, name, _ = IMAGE_CASES[case]
    response = upload(api_as(cast["alice"]), "/api/verify/", {}, file_field="file", file_name=name, data=data)
    assert response.status_code == 200, response.content[:300]
    assert (response.json()["manifest"], response.json()["match"]) == ("absent", "none")


HOSTILE_NAMES = {
    "unix path": "../../etc/passwd.png",
    "absolute path": "/etc/cron.d/seed.png",
    "windows path": "..\\..\\windows\\win.ini.png",
    "escaped slashes": "..&#47;..&#47;etc&#47;passwd.png",
    "right-to-left override": "invoice\u202egnp.exe",
    "control characters": "name\x07with\x1bescapes.png",
    "hidden file": ".htaccess",
    "over 255 bytes": "é" * 200 + ".png",
}


@pytest.mark.parametrize("case", list(HOSTILE_NAMES), ids=list(HOSTILE_NAMES))
def test_hostile_file_names_are_refused_not_rewritten(cast, untouched, case):
    response = upload(
        api_as(cast["alice"]),
        "/api/references/",
        {"brief": cast["brief_a"].pk},
        file_field="image",
        file_name=HOSTILE_NAMES[case],
        data=image_bytes(size=(24, 24)),
    )
    message = refused(response, "file name")
    assert "multipart form was refused" in message


def test_unicode_names_and_honest_files_are_accepted(cast, media_root):
    api = api_as(cast["alice"])
    names = (
        ("Café 東京 ☀.png", "PNG"),
        ("Мудборд-3.jpeg", "JPEG"),
        ("shot v2.1", "WEBP"),
        ("Screenshot 2026-11-23 at 10.00.00\u202fAM.png", "PNG"),
    )
    for name, image_format in names:
        data = image_bytes(size=(48, 27), colour=(len(name), 90, 200), image_format=image_format)
        response = upload(
            api, "/api/references/", {"brief": cast["brief_a"].pk}, file_field="image", file_name=name, data=data
        )
        assert response.status_code == 201, response.content
        sha = hashlib.sha256(data).hexdigest()
        assert (media_root / "blobs" / sha[:2] / sha[2:4] / sha).read_bytes() == data


LUT_CASES = {
    "1D LUT": (b"LUT_1D_SIZE 2\n0 0 0\n1 1 1\n", "1D LUTs are not supported"),
    "no size line": (b"0 0 0\n1 1 1\n", "no LUT_3D_SIZE"),
    "size 1": (b"LUT_3D_SIZE 1\n0 0 0\n", "out of range"),
    "size 4096": (b"LUT_3D_SIZE 4096\n0 0 0\n", "out of range"),
    "missing rows": (b"LUT_3D_SIZE 2\n" + b"0 0 0\n" * 7, "needs 8 rows"),
    "text in a row": (b"LUT_3D_SIZE 2\n" + b"0 0 0\n" * 7 + b"0 zero 0\n", "line 9"),
    "NaN in a row": (b"LUT_3D_SIZE 2\n" + b"0 0 0\n" * 7 + b"nan 0 0\n", "line 9"),
    "odd domain": (b"LUT_3D_SIZE 2\nDOMAIN_MAX 4 4 4\n" + b"0 0 0\n" * 8, "domain"),
    "binary data": (bytes(range(256)) * 4, "not text"),
    "png named .cube": (image_bytes(), "not text"),
}


@pytest.mark.parametrize("case", list(LUT_CASES), ids=list(LUT_CASES))
def test_malformed_cube_luts_are_refused(cast, untouched, case):
    data, phrase = LUT_CASES[case]
    response = upload(
        api_as(cast["alice"]),
        f"/api/versions/{cast['version_a'].pk}/finishing/",
        {"op": "lut", "params": "{}"},
        file_field="lut",
        file_name="grade.cube",
        data=data,
    )
    refused(response, phrase)


def _mask(size=(64, 64), fill=255, image_format="PNG", mode="L") -> bytes:
    image = Image.new(mode, size, 0)
    image.paste(fill, (8, 8, 40, 40))
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


MASK_CASES = {
    "mask of another size": (_mask(size=(32, 32)), "mask.png", "the mask is 32x32"),
    "empty mask": (_mask(fill=0), "mask.png", "the mask is empty"),
    "mask that is html": (b"<html><script>alert(1)</script></html>", "mask.png", "not an image"),
    "mask bomb": (IMAGE_CASES["png bomb (header)"][0], "mask.png", "pixels"),
    "animated mask": (IMAGE_CASES["animated png"][0], "mask.png", "animated"),
    "cmyk mask": (_mask(mode="CMYK", fill=(0, 0, 0, 255), image_format="JPEG"), "mask.jpg", "colour mode CMYK"),
}


@pytest.mark.parametrize("case", list(MASK_CASES), ids=list(MASK_CASES))
def test_malformed_inpaint_masks_are_refused(cast, tiny, media_root, case):
    init = version_import(brief=cast["brief_a"], source=image_file("init.png", size=(64, 64)))
    data, name, phrase = MASK_CASES[case]
    before = (row_counts(), media_state(media_root))
    response = upload(
        api_as(cast["alice"]),
        "/api/jobs/",
        {
            "brief": cast["brief_a"].pk,
            "op": "inpaint",
            "base_model": tiny["base"].pk,
            "prompt": "a hand",
            "init_version": init.pk,
            "params": json.dumps({"steps": 2, "width": 64, "height": 64, "seed": 1}),
        },
        file_field="mask",
        file_name=name,
        data=data,
    )
    refused(response, phrase)
    assert (row_counts(), media_state(media_root)) == before


def _signed_jpeg(directory: Path, comment: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 40, 90)).save(buffer, format="JPEG", quality=90, comment=comment)
    manifest = signing.manifest_build(
        title="hero.jpg",
        media_type="image/jpeg",
        actions=[
            {
                "action": "c2pa.created",
                "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
            }
        ],
        lineage={"version_id": 1},
    )
    path = signing.sign_to_temp(
        data=buffer.getvalue(), media_type="image/jpeg", manifest=manifest, ingredients=[], directory=directory
    ).path
    data = path.read_bytes()
    path.unlink()
    return data


def _app11_segments(data: bytes) -> bytes:
    """The JUMBF (APP11) segments that carry a JPEG's C2PA manifest store."""
    segments, offset = b"", 2
    while data[offset] == 0xFF and data[offset + 1] != 0xDA:
        length = int.from_bytes(data[offset + 2 : offset + 4], "big")
        if data[offset + 1] == 0xEB:
            segments += data[offset : offset + 2 + length]
        offset += 2 + length
    return segments


def forged_cases(directory: Path) -> dict[str, bytes]:
    signed = _signed_jpeg(directory, b"approved by the client on 2026-10-02")
    other = image_bytes(size=(64, 64), colour=(10, 200, 90), image_format="JPEG")
    store = _app11_segments(signed)
    assert store, "the signed file has no APP11 segment"
    garbage = bytearray(store)
    garbage[len(garbage) // 2 : len(garbage) // 2 + 64] = b"\x00" * 64
    return {
        "edited after signing": signed.replace(
            b"approved by the client on 2026-10-02", b"approved by the client on 2026-11-30"
        ),
        "manifest moved to another image": other[:2] + store + other[2:],
        "manifest store corrupted": other[:2] + bytes(garbage) + other[2:],
    }


FORGED = ["edited after signing", "manifest moved to another image", "manifest store corrupted"]


@pytest.mark.parametrize("case", FORGED)
@pytest.mark.parametrize("door", ["references", "versions/import", "verify command"])
def test_forged_c2pa_manifests_are_refused(cast, tmp_path, untouched, door, case):
    data = forged_cases(tmp_path / "signing")[case]
    if door == "verify command":
        path = tmp_path / "forged.jpg"
        path.write_bytes(data)
        with pytest.raises(CommandError, match="does not validate"):
            call_command("verify", str(path), stdout=io.StringIO())
        return
    response = upload(
        api_as(cast["alice"]),
        f"/api/{door}/",
        {"brief": cast["brief_a"].pk},
        file_field="image",
        file_name="forged.jpg",
        data=data,
    )
    refused(response, "C2PA manifest does not validate")


@pytest.mark.parametrize("case", FORGED)
def test_verify_api_reports_a_forged_manifest_as_invalid(cast, tmp_path, untouched, case):
    data = forged_cases(tmp_path / "signing")[case]
    response = upload(api_as(cast["alice"]), "/api/verify/", {}, file_field="file", file_name="forged.jpg", data=data)
    assert response.status_code == 200, response.content
    assert (response.json()["manifest"], response.json()["match"]) == ("invalid", "none")


def test_an_intact_signed_file_is_accepted(cast, tmp_path):
    data = _signed_jpeg(tmp_path / "signing", b"approved by the client on 2026-10-02")
    response = upload(
        api_as(cast["alice"]),
        "/api/references/",
        {"brief": cast["brief_a"].pk},
        file_field="image",
        file_name="signed.jpg",
        data=data,
    )
    assert response.status_code == 201, response.content


DEEP_JSON = "[" * 100_000 + "]" * 100_000  # json.loads raises RecursionError on it
DEEP_BUT_PARSABLE = '{"a":' * 200 + "1" + "}" * 200


@pytest.mark.parametrize("body", [DEEP_JSON, DEEP_BUT_PARSABLE], ids=["recursion", "past-the-limit"])
def test_a_deeply_nested_json_body_is_a_400_on_a_guest_share_link_route(cast, body):
    import datetime as dt

    from django.test import Client
    from django.utils import timezone

    from review.models import Note
    from review.services.rounds import round_open
    from review.services.share_links import share_link_create

    review_round = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["dana"]],
    )
    _, token = share_link_create(
        review_round=review_round, created_by=cast["alice"], expires=timezone.localdate() + dt.timedelta(days=3)
    )
    response = Client().post(f"/review/s/{token}/notes/", body, content_type="application/json")
    refused(response, "nests deeper than 32 levels")
    assert not Note.objects.exists()


@pytest.mark.parametrize("body", [DEEP_JSON, DEEP_BUT_PARSABLE], ids=["recursion", "past-the-limit"])
def test_a_deeply_nested_json_body_is_a_400_on_the_api(cast, untouched, body):
    response = api_as(cast["alice"]).generic("POST", "/api/deliveries/", body, content_type="application/json")
    refused(response, "nests deeper than 32 levels")


@pytest.mark.parametrize("body", [DEEP_JSON, DEEP_BUT_PARSABLE], ids=["recursion", "past-the-limit"])
def test_a_deeply_nested_json_string_in_a_multipart_form_is_a_400(cast, tiny, untouched, body):
    """A job form sends its grid and parameters as JSON strings beside the mask file: read by the same loader."""
    response = api_as(cast["alice"]).post(
        "/api/jobs/",
        {"brief": cast["brief_a"].pk, "base_model": tiny["base"].pk, "prompt": "x", "params": body},
        format="multipart",
    )
    assert response.status_code == 400, response.content[:300]
    assert "nests deeper than 32 levels" in response.json()["extra"]["fields"]["params"][0]


@pytest.mark.parametrize(
    "template",
    ["{seed:>999999999}", "{seed:>33}", "{seed:.999999999}", "{seed:{seed}}", "{seed:.>8}", "{seed:999999999d}"],
)
def test_a_name_template_with_an_unbounded_format_spec_is_refused(cast, untouched, template):
    from delivery import renditions

    response = api_as(cast["alice"]).post(
        "/api/deliveries/", {"version": cast["version_a"].pk, "name_template": template}, format="json"
    )
    refused(response, "may only be aligned or padded to at most 32 characters")
    # A template stored before the limit existed is refused when a file is named, before it is rendered.
    with pytest.raises(ApplicationError, match="at most 32 characters"):
        renditions.file_name(template=template, values={"seed": 7}, extension="png", taken=set())


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{seed!x}", "no conversion"),
        ("{seed!r}", "no conversion"),
        ("{seed!a:>40}", "no conversion"),
        ("a\x00{seed}", "letters, digits"),
        ("{seed}\n", "letters, digits"),
        ("{seed}:{seed}", "letters, digits"),
        ("{seed}|{seed}", "letters, digits"),
    ],
)
def test_a_name_template_with_a_conversion_or_unsafe_text_is_refused(cast, untouched, template, message):
    from delivery import renditions

    response = api_as(cast["alice"]).post(
        "/api/deliveries/", {"version": cast["version_a"].pk, "name_template": template}, format="json"
    )
    # The API's text field refuses a NUL and trims an outer newline itself; the check stands behind it for every
    # template, one stored earlier included.
    if template.isprintable():
        refused(response, message)
    else:
        assert response.status_code == 400 or "\n" in template
    with pytest.raises(ApplicationError, match=message):
        renditions.file_name(template=template, values={"seed": 7}, extension="png", taken=set())


def test_a_name_template_may_still_pad_a_field():
    from delivery import renditions

    assert (
        renditions.file_name(
            template="{seed:0>8}_{preset}", values={"seed": 42, "preset": "ig"}, extension="png", taken=set()
        )
        == "00000042_ig.png"
    )
