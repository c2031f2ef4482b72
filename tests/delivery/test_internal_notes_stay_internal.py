"""A region fixed from a studio-internal note is delivered without the note's words: not in the job's prompt, not in
the delivered file's EXIF/XMP/PNG text, its C2PA manifest or the bundle; a client's own note still is the prompt."""

import io
import json
import zipfile
from pathlib import Path

import piexif
import piexif.helper
import pytest
from django.conf import settings
from PIL import Image

from assets.models import Used
from assets.services.blobs import blob_open
from delivery.models import ChannelPreset, Delivery
from delivery.provenance import manifest_read
from delivery.services.deliveries import delivery_create
from delivery.services.lineage_facts import PROMPT_WITHHELD
from generation.services.regions import region_inpaint
from review.models import ReviewRound
from review.services.notes import note_add, note_fix, region_mask
from review.services.rounds import round_close, round_open
from tests.delivery.conftest import approve

SECRET = "ZEBRA-7731 the client's logo is off-brand again, redo it before they notice"
ELLIPSE = [{"type": "ellipse", "points": [[0.25, 0.25], [0.75, 0.75]]}]


def _presets() -> list[ChannelPreset]:
    return [
        ChannelPreset.objects.update_or_create(
            slug=slug, defaults={"name": slug, "width": 48, "height": 48, "section": "social", "format": image_format}
        )[0]
        for slug, image_format in (("thumb-jpeg", "JPEG"), ("thumb-png", "PNG"))
    ]


def _internal_note(people, version, *, internal: bool = True):
    review_round = round_open(
        brief=version.brief, versions=[version], stage=ReviewRound.Stage.INTERNAL, opened_by=people["producer"]
    )
    return note_add(
        review_round=review_round,
        version=version,
        text=SECRET,
        markup=ELLIPSE,
        author=people["producer"],
        internal=internal,
    )


def _delivered(people, version, run_jobs) -> tuple[Delivery, list[bytes], dict]:
    approve(version, producer=people["producer"], client_user=people["client"])
    with run_jobs():
        delivery = delivery_create(
            version=version,
            presets=_presets(),
            created_by=people["producer"],
            override_reason="tiny random model: no brand colours expected",
        )
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED, delivery.error
    folder = Path(settings.SEED_DELIVERY_DIR) / delivery.folder
    files = [path.read_bytes() for path in sorted(folder.iterdir()) if not path.name.endswith(".zip")]
    with zipfile.ZipFile(folder / delivery.bundle_name) as bundle:
        members = {name: bundle.read(name) for name in bundle.namelist()}
    return delivery, files, members


def _texts(data: bytes) -> dict[str, str]:
    """The text a delivered file carries: EXIF ImageDescription and UserComment (UTF-16 there), or PNG's text chunks."""
    with Image.open(io.BytesIO(data)) as image:
        if image.format == "PNG":
            return dict(image.text)
    exif = piexif.load(data)
    return {
        "description": exif["0th"][piexif.ImageIFD.ImageDescription].decode(),
        "parameters": piexif.helper.UserComment.load(exif["Exif"][piexif.ExifIFD.UserComment]),
    }


def _assert_nowhere(files: list[bytes], members: dict) -> None:
    marker = SECRET.split()[0]
    assert len(files) == 2
    for data, media_type in zip(files, ("image/jpeg", "image/png"), strict=True):
        assert all(marker.encode(codec) not in data for codec in ("utf-8", "utf-16-be", "utf-16-le"))
        texts = _texts(data)
        assert "Steps: 4" in texts["parameters"] and marker not in json.dumps(texts)
        report = manifest_read(data=data, media_type=media_type)
        assert report.state == "trusted", report.codes
        assert marker not in json.dumps(report.manifest) and marker not in json.dumps(report.lineage)
    for name, data in members.items():
        assert marker.encode() not in data, name
    assert b'"type": "prompt"' in members["lineage.json"]  # the lineage still names its prompts


@pytest.mark.parametrize("internal", [True, False], ids=["internal note", "note of an internal round"])
def test_fix_this_region_from_an_internal_note_keeps_its_words_out_of_the_job_and_the_delivery(
    people, generated, run_jobs, internal
):
    note = _internal_note(people, generated, internal=internal)
    with run_jobs():
        fixed = note_fix(note=note, user=people["producer"], feather=2)
    derivation = fixed.fixed_by
    assert derivation.state == "succeeded", derivation.error
    edges = {edge.role: edge for edge in derivation.used.select_related("prompt", "blob")}
    assert edges[Used.Role.PROMPT].prompt.text == "a can on a roof"  # the version's own recorded prompt
    assert SECRET not in json.dumps(derivation.job_batch.job.request)
    with blob_open(blob=edges[Used.Role.CHANGE_REQUEST].blob) as handle:
        request = json.loads(handle.read())
    assert request["note"] == note.pk and SECRET not in json.dumps(request)  # named by id; the words stay on the note
    round_close(review_round=note.review_round, closed_by=people["producer"])

    repainted = derivation.generated.order_by("index").first().version
    _, files, members = _delivered(people, repainted, run_jobs)
    _assert_nowhere(files, members)
    lineage = json.loads(members["lineage.json"])
    assert [step["op"] for step in lineage["summary"]["chain"]] == ["txt2img", "inpaint"]


@pytest.mark.parametrize("tagged", [False, True], ids=["plain", "with-a-lora-tag"])
def test_a_fix_recorded_with_the_internal_note_as_its_prompt_is_delivered_with_the_prompt_withheld(
    people, generated, run_jobs, tiny, tagged
):
    """Jobs queued before the fix made the note's words their prompt: delivery withholds that prompt, and with a LoRA
    tag in it also the text its encoders read (`prompt_read`, recorded where it differs from the prompt)."""
    note = _internal_note(people, generated)
    suffix = f" <lora:{tiny['lora_a'].name}:0.5>" if tagged else ""
    request = {
        "note": note.pk,
        "round": note.review_round_id,
        "version": generated.pk,
        "sha256": note.sha256,
        "author": note.author_name,
        "text": note.text,
        "markup": note.markup,
    }
    with run_jobs():
        [derivation] = region_inpaint(
            version=generated,
            prompt_text=note.text + suffix,
            created_by=people["producer"],
            mask_png=region_mask(shapes=note.markup, size=(generated.width, generated.height)),
            change_request=json.dumps(request).encode(),
        )
    derivation.refresh_from_db()
    assert derivation.state == "succeeded", derivation.error
    prompt = derivation.used.get(role=Used.Role.PROMPT).prompt
    assert prompt.text == SECRET + suffix
    assert derivation.params.get("prompt_read") == (SECRET if tagged else None)
    round_close(review_round=note.review_round, closed_by=people["producer"])

    repainted = derivation.generated.order_by("index").first().version
    _, files, members = _delivered(people, repainted, run_jobs)
    _assert_nowhere(files, members)
    [node] = [n for n in json.loads(members["lineage.json"])["graph"]["nodes"] if n["id"] == f"prompt:{prompt.pk}"]
    assert node["text"] == PROMPT_WITHHELD
    for data in files:  # the infotext says a prompt was withheld rather than name another
        texts = _texts(data)
        assert (
            texts["parameters"].startswith(PROMPT_WITHHELD)
            and texts.get("description", texts.get("Description")) == people["brief"].title
        )


def test_a_note_the_client_wrote_in_a_client_round_is_still_the_prompt(people, generated, run_jobs):
    review_round = round_open(
        brief=generated.brief,
        versions=[generated],
        stage=ReviewRound.Stage.CLIENT,
        opened_by=people["producer"],
        reviewers=[people["client"]],
    )
    note = note_add(
        review_round=review_round, version=generated, text="a red can instead", markup=ELLIPSE, author=people["client"]
    )
    with run_jobs():
        fixed = note_fix(note=note, user=people["producer"], feather=2)
    assert fixed.fixed_by.used.get(role=Used.Role.PROMPT).prompt.text == "a red can instead"
