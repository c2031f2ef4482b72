"""The AI Act's marking, per channel: IPTC AI fields in every delivered file, the recipe kept in where a channel says
so, QC blocking a file a preset or client requires marked that could not be, the visible label, and verify's report."""

import io
import json
from pathlib import Path

import numpy as np
import piexif
import piexif.helper
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import call_command
from PIL import Image

from assets.models import Client, ModelWeights, Prompt, PromptTemplate
from assets.operations import COMPOSITE_SYNTHETIC, TRAINED
from assets.selectors import lineage_graph
from assets.services.versions import version_import
from delivery.admin import ChannelPresetForm
from delivery.marks import iptc_ai_read
from delivery.models import ChannelPreset, Delivery
from delivery.provenance import manifest_read
from delivery.selectors import file_verify
from delivery.services.deliveries import delivery_create
from delivery.services.disclosure import digital_source_type_of, prompt_writer_of
from tests.delivery.conftest import approve
from tests.delivery.test_delivery_flow import small_preset
from tests.factories import api_as, image_bytes

PROMPT = "a can on a roof"
Exposure = ChannelPreset.RecipeExposure


def deliver(master, producer, presets, run_jobs) -> Delivery:
    with run_jobs():
        delivery = delivery_create(
            version=master, presets=presets, created_by=producer, override_reason="tiny master: slots are stretched"
        )
    delivery.refresh_from_db()
    return delivery


def files_by_preset(delivery: Delivery) -> dict[str, bytes]:
    folder = Path(settings.SEED_DELIVERY_DIR) / delivery.folder
    return {item.preset.slug: (folder / item.file_name).read_bytes() for item in delivery.items.all()}


def xmp_description(data: bytes) -> dict:
    """The XMP as Pillow's own reader (not ours) sees it."""
    with Image.open(io.BytesIO(data)) as image:
        return image.getxmp()["xmpmeta"]["RDF"]["Description"]


def test_every_file_carries_the_iptc_ai_fields_and_a_kept_in_prompt_is_nowhere_in_it(people, master, run_jobs):
    presets = [
        small_preset(slug="full-jpeg"),
        small_preset(slug="full-png", format="PNG"),
        small_preset(slug="seed-model-jpeg", recipe_exposure=Exposure.MODEL_AND_SEED),
        small_preset(slug="none-png", format="PNG", recipe_exposure=Exposure.NONE),
        small_preset(slug="none-tiff", format="TIFF", recipe_exposure=Exposure.NONE),
    ]
    delivery = deliver(master, people["producer"], presets, run_jobs)
    assert delivery.state == Delivery.State.SUCCEEDED, delivery.error
    files = files_by_preset(delivery)
    base = master.generated_by.derivation.used.get(role="base_model").model_weights

    for slug in ("full-jpeg", "full-png"):
        fields = xmp_description(files[slug])
        assert fields["DigitalSourceType"] == TRAINED and fields["AISystemUsed"] == base.name, slug
        assert base.sha256[:10] in fields["AISystemVersionUsed"]
        assert fields["AIPromptInformation"] == PROMPT and fields["AIPromptWriterName"] == settings.SEED_STUDIO_NAME
        assert PROMPT.encode() in files[slug]  # the control: a full recipe does carry the prompt

    for slug in ("seed-model-jpeg", "none-png", "none-tiff"):
        data = files[slug]
        assert PROMPT.encode() not in data and PROMPT.encode("utf-16-be") not in data, slug
        fields = xmp_description(data)
        assert "AIPromptInformation" not in fields and fields["AISystemUsed"] == base.name, slug
        assert fields["DigitalSourceType"] == TRAINED and fields["AIPromptWriterName"]
        report = manifest_read(data=data, media_type=Image.open(io.BytesIO(data)).get_format_mimetype())
        assert report.state == "trusted" and PROMPT not in json.dumps(report.manifest), slug
        # The manifest names each step, not its parameters or inputs: they hold the recipe (and prompt_read).
        assert all(set(step) == {"derivation", "op"} for step in report.lineage["chain"]), slug

    comment = piexif.helper.UserComment.load(piexif.load(files["seed-model-jpeg"])["Exif"][piexif.ExifIFD.UserComment])
    assert "Seed: 42" in comment and f"Model: {base.name}" in comment and "Steps:" not in comment
    with Image.open(io.BytesIO(files["none-png"])) as image:
        assert "Seed: 42" not in image.info["parameters"] and f"v{master.pk}" in image.info["parameters"]
    full = manifest_read(data=files["full-jpeg"], media_type="image/jpeg")
    assert "params" in full.lineage["chain"][0]


def test_disclosure_blocks_qc_for_a_file_that_could_not_be_marked(people, master, run_jobs, settings, tmp_path):
    settings.SEED_C2PA_KEY = tmp_path / "missing-key.pem"
    base = master.generated_by.derivation.used.get(role="base_model").model_weights
    ModelWeights.objects.filter(pk=base.pk).update(name="")
    preset = small_preset(slug="marked-social", disclosure_required=True)
    delivery = deliver_without_override(master, people["producer"], [preset], run_jobs)
    assert delivery.state == Delivery.State.BLOCKED and "ai_disclosure" in delivery.error.split("marked-social: ")[1]
    [check] = [c for c in delivery.qc[0]["checks"] if c["check"] == "ai_disclosure"]
    assert check["required_by"] == ["preset"] and not check["passed"]
    assert "no C2PA manifest: the signer cannot sign (SEED_C2PA_KEY" in check["detail"]
    assert "Iptc4xmpExt:AISystemUsed" in check["detail"] and "the base model has no name" in check["detail"]

    # A client may require it whatever the preset says: an imported master records no AI generation to name.
    Client.objects.filter(pk=people["brief"].campaign.client_id).update(requires_ai_disclosure=True)
    imported = version_import(brief=people["brief"], source=ContentFile(image_bytes(size=(64, 64)), name="photo.png"))
    approve(imported, producer=people["producer"], client_user=people["client"])
    delivery = deliver_without_override(imported, people["producer"], [small_preset(slug="plain")], run_jobs)
    [check] = [c for c in delivery.qc[0]["checks"] if c["check"] == "ai_disclosure"]
    assert delivery.state == Delivery.State.BLOCKED and check["required_by"] == ["client"]
    assert "records no generation by an AI model" in check["detail"]


def deliver_without_override(master, producer, presets, run_jobs) -> Delivery:
    with run_jobs():
        delivery = delivery_create(version=master, presets=presets, created_by=producer)
    delivery.refresh_from_db()
    return delivery


def test_a_label_preset_draws_the_label_and_verify_reports_every_mark(
    people, master, run_jobs, tmp_path, capsys, client
):
    labelled = small_preset(slug="labelled", width=240, height=240, ai_label_placement="bottom_right")
    plain = small_preset(slug="plain-240", width=240, height=240)
    cramped = small_preset(slug="cramped", ai_label_placement="top_left")
    delivery = deliver(master, people["producer"], [labelled, plain, cramped], run_jobs)
    assert delivery.state == Delivery.State.SUCCEEDED, delivery.error
    files = files_by_preset(delivery)
    facts = {fact["preset"]: {c["check"]: c for c in fact["checks"]} for fact in delivery.qc}
    label = facts["labelled"]["ai_label"]
    assert label["passed"] and label["value"] >= 12 and label["text"] == "AI-generated"
    assert not facts["cramped"]["ai_label"]["passed"] and "does not fit" in facts["cramped"]["ai_label"]["detail"]
    assert "ai_label" not in facts["plain-240"]

    with Image.open(io.BytesIO(files["labelled"])) as a, Image.open(io.BytesIO(files["plain-240"])) as b:
        difference = np.abs(np.asarray(a.convert("L"), dtype=int) - np.asarray(b.convert("L"), dtype=int))
    left, top, right, bottom = label["box"]
    assert difference[top:bottom, left:right].mean() > 30 and difference[:96, :96].mean() < 3

    report = manifest_read(data=files["labelled"], media_type="image/jpeg")
    actions = [a.get("description", "") for a in report.manifest["assertions"][0]["data"]["actions"]]
    assert "visible label 'AI-generated' drawn (bottom right corner)" in actions

    result = file_verify(data=files["labelled"])
    assert result.marks["c2pa_manifest"] == "trusted" and result.marks["soft_binding"] is True
    assert set(result.marks["iptc_ai"]) == {
        "DigitalSourceType",
        "AISystemUsed",
        "AISystemVersionUsed",
        "AIPromptInformation",
        "AIPromptWriterName",
    }
    assert result.marks["visible_label"] == {"text": "AI-generated", "placement": "bottom_right"}
    assert file_verify(data=files["plain-240"]).marks["visible_label"] is None

    path = tmp_path / "labelled.jpg"
    path.write_bytes(files["labelled"])
    call_command("verify", str(path))
    assert "AI marks: C2PA manifest trusted, soft binding present" in capsys.readouterr().out
    body = api_as(people["producer"]).get(f"/api/deliveries/{delivery.pk}/").json()
    marks = {item["preset"]: item["marks"] for item in body["items"]}
    assert marks["labelled"]["soft_binding"] and "AISystemUsed" in marks["labelled"]["iptc_ai"]
    assert marks["labelled"]["visible_label"]["placement"] == "bottom_right"
    client.force_login(people["producer"])
    page = client.get(f"/admin/delivery/delivery/{delivery.pk}/change/").content.decode()
    assert "AI marks" in page and "AI-generated (bottom right)" in page


def test_who_wrote_the_prompt_and_a_retouch_of_ai_media(people, master):
    template = PromptTemplate.objects.create(
        brief=people["brief"], name="roof", text="a can on {place}", created_by=people["producer"]
    )
    prompt = Prompt.objects.create(brief=people["brief"], template=template, text="a can on a ledge", digest="x" * 64)
    assert prompt_writer_of(prompt) == "paula"
    # Retouched outside Seed and brought back: the pixels hold AI and human work.
    retouch = version_import(
        brief=people["brief"], source=ContentFile(image_bytes(size=(64, 64)), name="retouch.png"), parents=[master]
    )
    assert digital_source_type_of(lineage_graph(version=retouch).chain()) == COMPOSITE_SYNTHETIC
    assert digital_source_type_of(lineage_graph(version=master).chain()) == TRAINED


@pytest.mark.parametrize(
    ("text", "message"),
    [("   ", "needs its wording"), ("x" * 81, "at most 80 characters")],
)
def test_the_preset_admin_refuses_a_label_without_fitting_wording(db, text, message):
    form = ChannelPresetForm(
        data={
            "slug": "labelled-form",
            "name": "Labelled",
            "width": 240,
            "height": 240,
            "format": "JPEG",
            "quality": 90,
            "colour_profile": "srgb",
            "rendering_intent": "relative",
            "crop_rule": "focal",
            "kind": "image",
            "section": "social",
            "min_ppi": 300,
            "position": 0,
            "recipe_exposure": "full",
            "ai_label_placement": "bottom_band",
            "ai_label_text": text,
        }
    )
    assert not form.is_valid() and message in str(form.errors["ai_label_text"])


def test_verify_reads_the_iptc_ai_fields_another_tool_wrote_as_attributes():
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        f'Iptc4xmpExt:DigitalSourceType="{TRAINED}" Iptc4xmpExt:AISystemUsed="Other tool"/></rdf:RDF></x:xmpmeta>'
    )
    data = image_bytes(image_format="JPEG", xmp=xmp.encode())
    assert iptc_ai_read(data=data) == {"DigitalSourceType": TRAINED, "AISystemUsed": "Other tool"}
    assert iptc_ai_read(data=image_bytes(image_format="JPEG", xmp=b"<x:xmpmeta><unclosed")) == {}
