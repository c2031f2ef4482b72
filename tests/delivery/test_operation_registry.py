"""The operation registry: every declared operation is complete, and one declared here, in the test, is at once
offered by the API, the admin and the CLI, run by the worker, re-run by reproduce and named in a delivered file's
C2PA manifest — with nothing else to edit."""

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from PIL import Image, ImageOps

from assets.errors import ApplicationError
from assets.models import Derivation, Used, Version
from assets.operations import (
    IPTC,
    OperationSpec,
    Param,
    operation_register,
    operation_unregister,
    operations_all,
)
from assets.services.blobs import blob_open
from assets.services.derivations import UsedInput, derivation_create
from delivery.models import Delivery
from delivery.provenance import manifest_read
from delivery.services.deliveries import delivery_create
from generation.reproduce import version_reproduce
from generation.services.finishing import finishing_create
from tests.delivery.conftest import approve
from tests.delivery.test_delivery_flow import delivered_files, small_preset
from tests.factories import api_as

# C2PA 2.x's standard actions (the specification's "c2pa.*" action names).
C2PA_ACTIONS = {
    "c2pa.color_adjustments",
    "c2pa.converted",
    "c2pa.created",
    "c2pa.cropped",
    "c2pa.drawing",
    "c2pa.edited",
    "c2pa.filtered",
    "c2pa.opened",
    "c2pa.orientation",
    "c2pa.placed",
    "c2pa.published",
    "c2pa.resized",
    "c2pa.transcoded",
}
BUILT_IN = {
    "txt2img", "img2img", "inpaint", "outpaint", "controlnet", "upscale", "grade", "lut", "sharpen", "denoise",
    "text_overlay", "composite", "icc", "rendition", "import", "reproduce", "grid", "matte", "mask_refine", "vectorise",
}  # fmt: skip


def _pixels(version: Version) -> np.ndarray:
    with blob_open(blob=version.blob) as handle, Image.open(handle) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def _invert(source, *, params, inputs, image_of):
    rgb = source.convert("RGB")
    return Image.blend(rgb, ImageOps.invert(rgb), params["amount"])


@pytest.fixture
def invert():
    spec = operation_register(
        OperationSpec(
            name="invert",
            label="Invert (a test's own operation)",
            phase="finishing",
            params=(Param("amount", float, minimum=0.0, maximum=1.0, key=True),),
            roles=frozenset({"parent"}),
            c2pa_action="c2pa.color_adjustments",
            digital_source_type=None,
            rerun="image",
            queue="cpu",
            starts=frozenset({"api", "admin", "cli"}),
            render=_invert,
        )
    )
    yield spec
    operation_unregister("invert")


def test_every_declared_operation_is_complete():
    specs = operations_all()
    assert BUILT_IN <= {spec.name for spec in specs}
    for spec in specs:
        where = f"{spec.name} ({spec.module})"
        assert spec.module.startswith("generation.operations."), where
        assert spec.label and spec.label != spec.name, where
        assert len({param.name for param in spec.params}) == len(spec.params), where
        assert spec.roles and spec.roles <= set(Used.Role.values), where
        assert spec.c2pa_action in C2PA_ACTIONS, where
        assert spec.digital_source_type is None or spec.digital_source_type.startswith(IPTC), where
        assert {side.role for side in spec.files} <= spec.roles, where
        assert all(side.param in {param.name for param in spec.params} for side in spec.files if side.param), where
        # How it runs matches what `reproduce` is told: an image render, a file render, or the pipeline's queue.
        assert (spec.render is not None) == (spec.rerun == "image"), where
        assert (spec.render_file is not None) == (spec.rerun == "file"), where
        assert (spec.pipeline is not None) == (spec.rerun == "pipeline"), where
        assert spec.pipeline_inputs is None or spec.pipeline is not None, where
        assert (spec.rerun == "recorded") == (spec.queue == ""), where
        assert not spec.starts or spec.render is not None, where
        assert json.loads(json.dumps(spec.describe()))["name"] == spec.name


def test_a_derivation_of_an_undeclared_operation_or_input_is_refused(people, generated):
    before = Derivation.objects.count()
    with pytest.raises(ApplicationError, match="unknown operation 'posterise'"):
        derivation_create(brief=generated.brief, op="posterise", phase="finishing", params={})
    with pytest.raises(ApplicationError, match="sharpen does not read a lut input"):
        derivation_create(
            brief=generated.brief,
            op="sharpen",
            phase="finishing",
            params={"radius": 1.0, "percent": 100, "threshold": 0},
            inputs=[UsedInput(role="parent", target=generated), UsedInput(role="lut", target=generated.blob)],
        )
    assert Derivation.objects.count() == before


def test_an_operation_declared_in_a_test_is_offered_by_the_api(people, generated, invert):
    api = api_as(people["producer"])
    listed = {item["name"]: item for item in api.get("/api/operations/").json()}
    assert listed["invert"]["starts"] == ["admin", "api", "cli"]
    assert listed["invert"]["params"] == [
        {"name": "amount", "type": "number", "required": True, "key": True, "minimum": 0.0, "maximum": 1.0}
    ]
    url = f"/api/versions/{generated.pk}/finishing/"
    refused = api.post(url, {"op": "invert", "params": {"amount": 2.0}}, format="json")
    assert refused.status_code == 400 and "at most 1.0" in refused.json()["message"]
    assert not Derivation.objects.filter(op="invert").exists()
    created = api.post(url, {"op": "invert", "params": {"amount": 1.0}}, format="json")
    assert created.status_code == 201, created.content
    assert Derivation.objects.get(pk=created.json()["derivation"]).used.get().version == generated
    # A client's reviewer starts nothing, and the endpoint does not offer an op no module declares.
    assert (
        api_as(people["client"]).post(url, {"op": "invert", "params": {"amount": 1.0}}, format="json").status_code
        == 403
    )
    assert api.post(url, {"op": "posterise", "params": {}}, format="json").status_code == 400


def test_an_operation_declared_in_a_test_is_offered_by_the_admin_and_the_cli(people, generated, invert):
    browser = Client()
    browser.force_login(people["producer"])
    changelist = "/admin/assets/version/"
    form = browser.post(changelist, {"action": "finish_versions", "_selected_action": [generated.pk]})
    assert form.status_code == 200 and 'value="invert"' in form.content.decode()
    assert "amount (0.0–1.0)" in form.content.decode()
    done = browser.post(
        changelist,
        {
            "action": "finish_versions",
            "_selected_action": [generated.pk],
            "confirm": "1",
            "op": "invert",
            "params": '{"amount": 0.5}',
        },
    )
    assert done.status_code == 302
    assert Derivation.objects.get(op="invert").params == {"amount": 0.5}

    out = StringIO()
    call_command("finish", str(generated.pk), op="invert", params='{"amount": 0.25}', user="paula", stdout=out)
    assert "queued invert" in out.getvalue() and Derivation.objects.filter(op="invert").count() == 2
    with pytest.raises(CommandError, match="at most 1.0"):
        call_command("finish", str(generated.pk), op="invert", params='{"amount": 3}')
    with pytest.raises(CommandError, match="may not start finishing"):
        call_command("finish", str(generated.pk), op="invert", params='{"amount": 1}', user="cleo")
    assert Derivation.objects.filter(op="invert").count() == 2
    listed = StringIO()
    call_command("finish", list=True, stdout=listed)
    assert "invert: amount (0.0–1.0)" in listed.getvalue()


def test_an_operation_declared_in_a_test_runs_reproduces_and_is_named_in_the_delivered_manifest(
    people, generated, invert, run_jobs
):
    with run_jobs():
        derivation = finishing_create(version=generated, op="invert", params={"amount": 1.0})
    inverted = derivation.generated.get().version
    assert np.array_equal(_pixels(inverted), 255 - _pixels(generated))
    assert version_reproduce(version=inverted).verdict == "bit_identical"

    approve(inverted, producer=people["producer"], client_user=people["client"])
    with run_jobs():
        delivery = delivery_create(
            version=inverted,
            presets=[small_preset()],
            created_by=people["producer"],
            override_reason="tiny random model: no brand colours expected",
        )
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED, delivery.error
    [path] = delivered_files(delivery)
    report = manifest_read(data=path.read_bytes(), media_type="image/jpeg")
    assert report.state == "trusted", report.codes
    actions = report.manifest["assertions"][0]["data"]["actions"]
    named = [action for action in actions if f"(derivation {derivation.pk})" in action.get("description", "")]
    assert named == [
        {
            "action": "c2pa.color_adjustments",
            "softwareAgent": {"name": "Seed finishing"},
            "description": f"Invert (a test's own operation) (derivation {derivation.pk})",
        }
    ]
    assert [step["op"] for step in report.lineage["chain"]] == ["txt2img", "invert"]
