"""Background removal with an ONNX matting model (onnxruntime), masks as lineage entities reused by inpaint and
composite, mask refinement, and vectorising with vtracer."""

import io
import json

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from PIL import Image, ImageDraw

from assets.errors import ApplicationError
from assets.lineage_svg import lineage_svg
from assets.models import Blob, Derivation, DerivedFile, Used
from assets.selectors import lineage_graph
from assets.services.blobs import blob_open
from assets.services.versions import version_import
from assets.services.weights import model_weights_register
from generation.finishing import finishing_run
from generation.reproduce import file_reproduce, version_reproduce
from generation.requests import GenerationRequest
from generation.services.finishing import (
    Layer,
    finishing_create,
    mask_refine_create,
    matte_create,
    vectorise_create,
)
from generation.services.jobs import generation_job_create
from tests.factories import api_as, make_brief
from tests.generation.conftest import FAST


def _logo(size=(64, 48)) -> io.BytesIO:
    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 6, 40, 38), fill=(230, 40, 60))
    draw.rectangle((36, 20, 58, 42), fill=(20, 20, 20))
    data = io.BytesIO()
    image.save(data, format="PNG")
    data.seek(0)
    data.name = "logo.png"
    return data


def _open(blob, mode=None) -> Image.Image:
    with blob_open(blob=blob) as handle, Image.open(handle) as image:
        image.load()
        return image.convert(mode) if mode else image.copy()


def _done(derivation):
    derivation.refresh_from_db()
    assert derivation.state == "succeeded", derivation.error
    return derivation


@pytest.fixture
def logo(db):
    return version_import(brief=make_brief(), source=_logo())


def test_a_matte_makes_a_cut_out_and_its_mask_reproduces_and_records_once(tiny, logo, run_jobs):
    with run_jobs():
        derivation = matte_create(version=logo, matting=tiny["matting"], grow=1, feather=0.5)
    derivation = _done(derivation)
    cut = derivation.generated.get().version
    mask = derivation.files.get()
    assert (mask.kind, mask.source_id, (mask.width, mask.height)) == ("mask", logo.pk, (64, 48))
    cut_image = _open(cut.blob)
    assert cut_image.mode == "RGBA" and cut_image.size == (64, 48)
    assert np.array_equal(np.asarray(cut_image.getchannel("A")), np.asarray(_open(mask.blob, "L")))
    alpha = np.asarray(cut_image.getchannel("A"))
    assert alpha.min() < alpha.max(), "the mask separates something"
    assert np.array_equal(np.asarray(cut_image.convert("RGB")), np.asarray(_open(logo.blob, "RGB")))
    assert derivation.used.get(role=Used.Role.MATTING).model_weights == tiny["matting"]
    assert derivation.params == {"model_family": "u2net", "grow": 1, "feather": 0.5}
    assert version_reproduce(version=cut).verdict == "bit_identical"
    assert file_reproduce(file=mask)["verdict"] == "bit_identical"
    # The broker is at-least-once: a second delivery of the task records no second cut-out or mask.
    finishing_run(derivation_id=derivation.pk)
    assert derivation.generated.count() == 1 and derivation.files.count() == 1


def test_a_recorded_mask_serves_inpaint_and_a_composite_layer(tiny, logo, run_jobs):
    with run_jobs():
        matte = matte_create(version=logo, matting=tiny["matting"])
    mask = _done(matte).files.get()
    cut = matte.generated.get().version
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=logo.brief,
                op="inpaint",
                base_model=tiny["base"],
                prompt_text="a new background",
                init=logo,
                mask_file=mask,
                params={**FAST, "seed": 2, "batch_size": 1, "width": 64, "height": 48},
            ),
        )
        composite = finishing_create(
            version=logo, op="composite", params={"blend": "normal"}, layers=[Layer(source=cut, mask=mask)]
        )
    inpaint = _done(job.batches.get().derivation)
    assert inpaint.used.get(role=Used.Role.MASK).blob_id == mask.blob_id
    composite = _done(composite)
    assert composite.used.get(role=Used.Role.MASK).blob_id == mask.blob_id
    assert version_reproduce(version=composite.generated.get().version).verdict == "bit_identical"
    # The lineage names the mask the composite used, and the matte that made it.
    graph = lineage_graph(version=composite.generated.get().version)
    node = next(node for node in graph.as_dict()["nodes"] if node["id"] == f"blob:{mask.blob_id}")
    assert node["mask"] == {"id": mask.pk, "source": logo.pk, "derivation": matte.pk, "label": ""}
    assert f"Mask #{mask.pk} of v{logo.pk}" in lineage_svg(graph=graph)
    other = version_import(brief=logo.brief, source=_logo(size=(32, 32)))
    with pytest.raises(ApplicationError, match="is 64x48; the init image is 32x32"):
        generation_job_create(
            request=GenerationRequest(
                brief=logo.brief,
                op="inpaint",
                base_model=tiny["base"],
                prompt_text="x",
                init=other,
                mask_file=mask,
                params=dict(FAST),
            ),
        )


def test_a_mask_is_refined_into_a_new_one_and_bad_requests_are_refused(tiny, logo, run_jobs):
    with run_jobs():
        matte = matte_create(version=logo, matting=tiny["matting"])
    mask = _done(matte).files.get()
    with run_jobs():
        grown = mask_refine_create(mask=mask, grow=3)
        shrunk = mask_refine_create(mask=mask, grow=-3, feather=1.0)
    grown_file, shrunk_file = _done(grown).files.get(), _done(shrunk).files.get()
    assert grown_file.refined_from == mask and grown_file.source == logo
    original, bigger, smaller = (
        np.asarray(_open(item.blob, "L"), dtype=np.int32).sum() for item in (mask, grown_file, shrunk_file)
    )
    assert bigger > original > smaller
    assert file_reproduce(file=shrunk_file)["verdict"] == "bit_identical"
    with pytest.raises(ApplicationError, match="needs grow"):
        mask_refine_create(mask=mask)
    with pytest.raises(ApplicationError, match="not a matting model"):
        matte_create(version=logo, matting=tiny["base"])
    with pytest.raises(ApplicationError, match="must be one of u2net"):
        matte_create(version=logo, matting=tiny["matting"], model_family="rmbg")
    assert DerivedFile.objects.count() == 3


def test_masks_are_uploaded_checked_and_refused_whole(logo, tiny):
    api = api_as(get_user_model().objects.create_user("alice", password="x", is_staff=True, is_superuser=True))

    def upload(image: Image.Image):
        data = io.BytesIO()
        image.save(data, format="PNG")
        data.seek(0)
        data.name = "mask.png"
        return api.post("/api/derived-files/", {"source": logo.pk, "file": data, "label": "hands"}, format="multipart")

    blobs_before = Blob.objects.count()
    wrong = upload(Image.new("L", (32, 32), 255))
    assert wrong.status_code == 400 and "is 32x32 but version" in wrong.content.decode()
    empty = upload(Image.new("L", (64, 48), 0))
    assert empty.status_code == 400 and "empty" in empty.content.decode()
    assert not DerivedFile.objects.exists() and Blob.objects.count() == blobs_before
    painted = Image.new("RGBA", (64, 48), (0, 0, 0, 0))
    ImageDraw.Draw(painted).rectangle((10, 10, 30, 30), fill=(255, 255, 255, 255))
    created = upload(painted)
    assert created.status_code == 201, created.content
    assert Blob.objects.count() == blobs_before + 1, "only the single-channel mask is stored, not the upload"
    body = created.json()
    assert (body["kind"], body["source"], body["made_by"], body["label"]) == ("mask", logo.pk, None, "hands")
    stored = _open(DerivedFile.objects.get(pk=body["id"]).blob)
    assert stored.mode == "L" and stored.getpixel((20, 20)) == 255 and stored.getpixel((50, 40)) == 0
    with pytest.raises(CommandError, match="was uploaded: there is nothing to re-run"):
        call_command("reproduce", "--file", str(body["id"]))


def test_vectorising_records_an_svg_that_only_downloads_as_a_sandboxed_attachment(tiny, logo, run_jobs):
    with run_jobs():
        colour = vectorise_create(version=logo, options={"filter_speckle": 2, "mode": "polygon"})
        binary = vectorise_create(version=logo, options={"colour_mode": "binary"})
    svg = _done(colour).files.get()
    assert (svg.kind, svg.blob.media_type, svg.width, svg.height) == ("svg", "image/svg+xml", 64, 48)
    assert colour.params["filter_speckle"] == 2 and colour.params["colour_precision"] == 6
    with blob_open(blob=svg.blob) as handle:
        text = handle.read().decode()
    assert text.startswith("<?xml") and 'width="64" height="48"' in text and text.count("<path") >= 2
    assert "#E6283C" in text.upper() or 'fill="#E' in text.upper()
    with blob_open(blob=_done(binary).files.get().blob) as handle:
        assert "<path" in handle.read().decode()
    out = io.StringIO()
    call_command("reproduce", "--file", str(svg.pk), "--json", stdout=out)
    assert json.loads(out.getvalue())["verdict"] == "bit_identical"
    api = api_as(get_user_model().objects.create_user("alice", password="x", is_staff=True, is_superuser=True))
    response = api.get(f"/api/derived-files/{svg.pk}/download/")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert response["Content-Disposition"].startswith("attachment;") and ".svg" in response["Content-Disposition"]
    assert response["Content-Security-Policy"].startswith("sandbox") and response["X-Content-Type-Options"] == "nosniff"
    api.force_login(get_user_model().objects.get(username="alice"))
    assert api.get(f"/blobs/{svg.blob_id}/").status_code == 404
    with pytest.raises(ApplicationError, match="unknown vectorise option"):
        vectorise_create(version=logo, options={"colours": 4})
    with pytest.raises(ApplicationError, match="'mode' must be one of"):
        vectorise_create(version=logo, options={"mode": "bezier"})


def test_registering_a_matting_model_reads_its_graph(tiny, tiny_files, tmp_path):
    assert (tiny["matting"].kind, tiny["matting"].format) == ("matting", "onnx")
    with pytest.raises(ApplicationError, match="one .onnx file"):
        model_weights_register(path=tiny_files["lora_a"], kind="matting", name="not onnx")
    with pytest.raises(ApplicationError, match="ONNX files as matting models only"):
        model_weights_register(path=tiny_files["matting"], kind="lora", name="not a lora", architecture="sd15")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a protobuf at all")
    with pytest.raises(ApplicationError, match="not a readable ONNX model"):
        model_weights_register(path=broken, kind="matting", name="broken")


def test_the_api_composites_a_cut_out_through_its_recorded_mask(tiny, logo, run_jobs):
    with run_jobs():
        matte = matte_create(version=logo, matting=tiny["matting"])
    mask = _done(matte).files.get()
    cut = matte.generated.get().version
    api = api_as(get_user_model().objects.create_user("alice", password="x", is_staff=True, is_superuser=True))
    url = f"/api/versions/{logo.pk}/finishing/"
    body = {"op": "composite", "params": {"blend": "normal"}, "layers": [{"version": cut.pk, "mask": mask.pk}]}
    for layers, message in (
        ([{"version": cut.pk, "reference": 1}], "give a version or a reference"),
        ([{"version": cut.pk, "opacity": 3}], "unknown opacity"),
        ([], "non-empty list"),
    ):
        refused = api.post(url, {**body, "layers": layers}, format="json")
        assert refused.status_code == 400 and message in refused.content.decode(), refused.content
    assert (
        api.post(url, {**body, "layers": [{"version": cut.pk, "mask": mask.pk + 99}]}, format="json").status_code == 404
    )
    with run_jobs():
        created = api.post(url, body, format="json")
    assert created.status_code == 201, created.content
    composite = _done(Derivation.objects.get(pk=created.json()["derivation"]))
    assert composite.used.get(role=Used.Role.MASK).blob_id == mask.blob_id
    assert composite.used.get(role=Used.Role.LAYER).version_id == cut.pk
