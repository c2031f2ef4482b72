"""Hostile use of the operation registry's doors: `POST /api/versions/{id}/finishing/` (and the dedicated finishing
endpoints), the version admin's generic "Finish selected versions…" action and `manage.py finish`.

Each attack that must be refused gets a 4xx (a form error, a CommandError) and leaves nothing behind: no row, no
file in the blob store, nothing queued for the worker. The tests marked "HOLE" were written failing against the
registry's first version (120ca1b): their docstrings say what it let through, and each now holds the fix.
"""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import contextmanager
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client as WebClient
from django_q.models import OrmQ

from assets.models import Derivation, DerivedFile, Used, Version
from assets.services.briefs import reference_create
from review.roles import PRODUCER
from tests.factories import api_as, image_bytes, image_file, member
from tests.security.conftest import media_state, row_counts

pytestmark = pytest.mark.django_db

IDENTITY_CUBE = 'TITLE "identity"\nLUT_3D_SIZE 2\n' + "".join(
    f"{r} {g} {b}\n" for b in (0, 1) for g in (0, 1) for r in (0, 1)
)
GRADE = {"exposure": 0.3, "contrast": 1.0, "saturation": 1.0, "temperature": 0.0}
CHANGELIST = "/admin/assets/version/"


@pytest.fixture
def gina(cast):
    """A producer scoped to Borealis (client B): Aurora's versions, references and masks are not hers."""
    return member("gina", PRODUCER, cast["brief_b"].campaign.client)


@pytest.fixture
def masks(cast):
    """A recorded mask beside each client's master (an uploaded mask has no derivation)."""
    return {
        key: DerivedFile.objects.create(
            brief=version.brief,
            source=version,
            kind=DerivedFile.Kind.MASK,
            blob=version.blob,
            width=version.width,
            height=version.height,
        )
        for key, version in (("a", cast["version_a"]), ("b", cast["version_b"]))
    }


@pytest.fixture
def nothing_written(media_root, django_capture_on_commit_callbacks):
    """Like tests.security.conftest.untouched, and nothing queued: no task waiting on commit, no django_q row."""

    @contextmanager
    def check():
        media_root.mkdir(parents=True, exist_ok=True)
        before = (row_counts(), media_state(media_root), OrmQ.objects.count())
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            yield
        assert callbacks == [], "a task was queued"
        assert (row_counts(), media_state(media_root), OrmQ.objects.count()) == before

    return check


def _quiet(client):
    """A test client that answers an unhandled exception with the 500 a browser would get, instead of raising."""
    client.raise_request_exception = False
    return client


def _admin(user) -> WebClient:
    browser = WebClient(raise_request_exception=False)
    browser.force_login(user)
    return browser


def _finish_in_admin(browser, version, *, op, params: str):
    return browser.post(
        CHANGELIST,
        {"action": "finish_versions", "_selected_action": [version.pk], "confirm": "1", "op": op, "params": params},
    )


def _finishing(api, version, body: dict | str, **kwargs):
    url = f"/api/versions/{version.pk}/finishing/"
    if isinstance(body, str):
        return api.generic("POST", url, body, content_type="application/json")
    return api.post(url, body, **kwargs)


def _refused(response, phrase: str = "") -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:400])
    if phrase:
        assert phrase.lower() in response.content.decode().lower(), response.content[:400]


# --- holes ---------------------------------------------------------------------------------------------------------


def test_api_an_integer_too_large_for_a_number_parameter_is_a_400_not_a_500(cast, nothing_written):
    """HOLE. Param.clean turns an int given for a float parameter into a float, and float(10**400) raises
    OverflowError: one JSON number from any producer is an unhandled exception (500) on the finishing endpoint."""
    api = _quiet(api_as(cast["alice"]))
    huge = "1" + "0" * 400
    with nothing_written():
        response = _finishing(
            api,
            cast["version_a"],
            '{"op": "grade", "params": {"exposure": ' + huge + ', "contrast": 1, "saturation": 1, "temperature": 0}}',
        )
        _refused(response, "exposure")


@pytest.mark.parametrize("door", ["admin", "cli"])
def test_admin_and_cli_an_integer_too_large_for_a_number_parameter_is_refused(cast, nothing_written, door):
    """HOLE. The same OverflowError through the admin's Finish form (a 500 page) and `manage.py finish` (a traceback
    instead of a CommandError)."""
    params = '{"amount": 1' + "0" * 400 + "}"
    with nothing_written():
        if door == "admin":
            response = _finish_in_admin(_admin(cast["alice"]), cast["version_a"], op="vignette", params=params)
            assert response.status_code in (200, 302), response.status_code
        else:
            with pytest.raises(CommandError, match="amount"):
                call_command("finish", str(cast["version_a"].pk), op="vignette", params=params)


@pytest.mark.parametrize(
    "text",
    ["nul \u0000 inside", "a lone surrogate \ud800"],
    ids=["nul", "surrogate"],
)
def test_api_text_postgres_cannot_store_is_a_400_not_a_500(cast, nothing_written, text):
    """HOLE. A text parameter passes Param.clean with a NUL or a lone surrogate in it; Postgres' jsonb refuses both
    when the derivation is inserted (DataError), so `{"op": "text_overlay", "params": {"text": "\\u0000"}}` is a 500."""
    api = _quiet(api_as(cast["alice"]))
    body = json.dumps({"op": "text_overlay", "params": {"text": text}})
    with nothing_written():
        _refused(_finishing(api, cast["version_a"], body), "text")


def test_admin_finish_form_refuses_nan(cast, nothing_written):
    """HOLE. The API and the CLI read JSON through json_body_load, which refuses NaN and Infinity; the admin's Finish
    form uses Django's JSONField, which takes them. NaN passes every bound (each comparison is False), so the
    parameters are clean until Postgres refuses the row: a 500 page for the producer."""
    browser = _admin(cast["alice"])
    with nothing_written():
        response = _finish_in_admin(browser, cast["version_a"], op="vignette", params='{"amount": NaN}')
        assert response.status_code in (200, 302), response.status_code


@pytest.mark.parametrize("params", ["[1, 2]", '"vignette"', '[["amount", 0.5]]'], ids=["list", "string", "pairs"])
def test_admin_finish_form_refuses_parameters_that_are_not_an_object(cast, nothing_written, params):
    """HOLE. The form takes any JSON as the parameters and finishing_create calls dict() on it before checking it is an
    object: a list of numbers or a string is a TypeError / ValueError (500 page), and a list of pairs is turned
    into an object and queued, where the API answers "parameters must be an object"."""
    browser = _admin(cast["alice"])
    with nothing_written():
        response = _finish_in_admin(browser, cast["version_a"], op="vignette", params=params)
        assert response.status_code in (200, 302), response.status_code


def test_admin_finish_form_refuses_json_nested_past_the_decoders_stack(cast, nothing_written):
    """HOLE. The API and the CLI read JSON through json_body_load, which turns the decoder's RecursionError into a
    refusal; Django's forms.JSONField catches only JSONDecodeError, so a few kilobytes of brackets in the Finish
    form's parameters are a 500 page."""
    browser = _admin(cast["alice"])
    with nothing_written():
        response = _finish_in_admin(browser, cast["version_a"], op="vignette", params="[" * 100_000 + "]" * 100_000)
        assert response.status_code in (200, 302), response.status_code


@pytest.mark.parametrize("params", ["[1]", '"vignette"', '[["amount", 0.5]]'], ids=["list", "string", "pairs"])
def test_cli_finish_refuses_parameters_that_are_not_an_object(cast, nothing_written, params):
    """HOLE. `manage.py finish --params '[1]'` ends in a TypeError traceback, and `--params '[["amount", 0.5]]'`
    queues a vignette: only ApplicationError is turned into a CommandError, and nothing checks for an object."""
    with nothing_written(), pytest.raises(CommandError, match="object"):
        call_command("finish", str(cast["version_a"].pk), op="vignette", params=params)


@pytest.mark.parametrize("params", ["false", "0", "[]", "{}"])
def test_api_parameters_of_the_wrong_type_are_refused_even_when_falsy(cast, masks, nothing_written, params):
    """HOLE (minor). The view reads `v.get("params") or {}`, so a falsy wrong-typed value (false, 0, []) becomes {}
    and an operation without required parameters (a composite) is queued; a truthy one is refused as "params must be
    a JSON object". ({} is the control: an honest empty object is taken.)"""
    api = api_as(cast["alice"])
    body = (
        json.dumps({"op": "composite", "layers": [{"version": cast["version_a2"].pk}]})[:-1]
        + ', "params": '
        + params
        + "}"
    )
    if params == "{}":
        assert _finishing(api, cast["version_a"], body).status_code == 201
        return
    with nothing_written():
        _refused(_finishing(api, cast["version_a"], body), "object")


def test_api_text_overlay_font_hash_cannot_be_forged(cast, nothing_written):
    """HOLE. `font_sha256` is the parameter the font file's hash is written into (SideFile.param), but it is also
    accepted from the caller: without a font file the derivation records a font that was never given (any string),
    no font input is recorded, and the worker renders with the default font. The recipe and the lineage then name
    a font the pixels were not made with. (lut_sha256 and profile_sha256 are overwritten because their files are
    required; the optional font's is not.)"""
    api = api_as(cast["alice"])
    forged = "f" * 64
    with nothing_written():
        response = _finishing(
            api,
            cast["version_a"],
            {"op": "text_overlay", "params": {"text": "hi", "font_sha256": forged}},
            format="json",
        )
        _refused(response, "font_sha256")


def test_api_a_composite_cannot_use_another_clients_mask(cast, masks, nothing_written):
    """HOLE. derivation_create refuses a layer or reference of another client ("belongs to another client and cannot
    be used in this brief"), but a recorded mask is used by its blob, which names no client: a studio-wide producer
    composites Aurora's version through Borealis' mask, and Borealis' mask becomes an input of Aurora's lineage."""
    api = api_as(cast["alice"])
    body = {"op": "composite", "layers": [{"version": cast["version_a2"].pk, "mask": masks["b"].pk}]}
    with nothing_written():
        _refused(_finishing(api, cast["version_a"], body, format="json"), "another client")


def test_an_inpaint_cannot_use_another_clients_mask(cast, masks, tiny, nothing_written):
    """The same rule where a recorded mask serves an inpaint job's mask_file."""
    from assets.errors import ApplicationError
    from generation.requests import GenerationRequest
    from generation.services.jobs import generation_job_create
    from tests.generation.conftest import FAST

    request = GenerationRequest(
        brief=cast["version_a"].brief,
        op="inpaint",
        base_model=tiny["base"],
        prompt_text="a can",
        init=cast["version_a"],
        mask_file=masks["b"],
        params={**FAST, "seed": 1, "strength": 0.5},
    )
    with nothing_written(), pytest.raises(ApplicationError, match="belongs to another client"):
        generation_job_create(request=request, created_by=cast["alice"])


def test_cli_records_as_starter_only_someone_who_may_finish_that_version(cast, gina, nothing_written):
    """HOLE. `--user` refuses a client's user but records anyone else as having started the step: Gina, a producer
    scoped to Borealis, on Aurora's version (the API answers her 404), and Bob, an internal reviewer without
    assets.add_derivation (the API answers him 403). The lineage then names a starter who could not have started it."""
    version = cast["version_a"]
    with nothing_written():
        with pytest.raises(CommandError):
            call_command("finish", str(version.pk), op="denoise", params='{"strength": 0.5}', user="gina")
        with pytest.raises(CommandError):
            call_command("finish", str(version.pk), op="denoise", params='{"strength": 0.5}', user="bob")


# --- attacks correctly refused ---------------------------------------------------------------------------------------


def test_anonymous_callers_get_neither_the_operations_nor_the_finishing_endpoints(cast, nothing_written):
    anonymous = _quiet(api_as(None))
    with nothing_written():
        assert anonymous.get("/api/operations/").status_code in (401, 403)
        response = _finishing(
            anonymous, cast["version_a"], {"op": "denoise", "params": {"strength": 0.5}}, format="json"
        )
        assert response.status_code in (401, 403)
        assert anonymous.post(f"/api/versions/{cast['version_a'].pk}/palette-snap/").status_code in (401, 403)


def test_operations_list_names_no_code_paths_or_callables(cast):
    """What `GET /api/operations/` lists is the declaration's description: no module path, render function, queue or
    file check leaks to the caller (the same for studio and client users)."""
    for user in (cast["alice"], cast["dana"]):
        listed = api_as(user).get("/api/operations/")
        assert listed.status_code == 200
        text = listed.content.decode()
        assert "generation." not in text and "function" not in text and "<" not in text
        for item in listed.json():
            assert set(item) == {
                "name", "label", "phase", "params", "roles", "files", "c2pa_action", "digital_source_type", "rerun",
                "starts",
            }  # fmt: skip


@pytest.mark.parametrize(
    "route, body",
    [
        ("finishing/", {"op": "denoise", "params": {"strength": 0.5}}),
        ("upscale/", {"target_width": 512, "target_height": 512}),
        ("palette-snap/", {}),
        ("matte/", {"model_family": "u2net"}),
        ("vectorise/", {}),
    ],
)
def test_client_reviewers_finish_nothing_of_their_own_client_or_another(cast, nothing_written, route, body):
    with nothing_written():
        for user in (cast["dana"], cast["charlie"]):
            response = api_as(user).post(f"/api/versions/{cast['version_a'].pk}/{route}", body, format="json")
            assert response.status_code == 403, (user, response.content)


def test_client_reviewers_and_a_scoped_producer_cannot_refine_another_clients_mask(cast, gina, masks, nothing_written):
    with nothing_written():
        assert api_as(cast["dana"]).post(f"/api/derived-files/{masks['a'].pk}/refine/", {"grow": 2}).status_code == 403
        assert api_as(gina).post(f"/api/derived-files/{masks['a'].pk}/refine/", {"grow": 2}).status_code == 404


@pytest.mark.parametrize(
    "route, body",
    [
        ("finishing/", {"op": "denoise", "params": {"strength": 0.5}}),
        ("upscale/", {"target_width": 512, "target_height": 512}),
        ("palette-snap/", {}),
        ("vectorise/", {}),
    ],
)
def test_a_scoped_producer_cannot_finish_another_clients_version(cast, gina, nothing_written, route, body):
    with nothing_written():
        response = api_as(gina).post(f"/api/versions/{cast['version_a'].pk}/{route}", body, format="json")
        assert response.status_code == 404, response.content


def test_a_scoped_producer_cannot_composite_with_another_clients_layer_reference_or_mask(
    cast, gina, masks, nothing_written
):
    aurora_reference = reference_create(brief=cast["brief_a"], source=image_file("mood.png"), title="mood")
    api = api_as(gina)
    for layer in (
        {"version": cast["version_a"].pk},
        {"reference": aurora_reference.pk},
        {"version": cast["version_b"].pk, "mask": masks["a"].pk},
    ):
        with nothing_written():
            response = _finishing(api, cast["version_b"], {"op": "composite", "layers": [layer]}, format="json")
            assert response.status_code == 404, (layer, response.content)


def test_a_studio_wide_producer_cannot_composite_another_clients_layer_or_reference(cast, nothing_written):
    borealis_reference = reference_create(brief=cast["brief_b"], source=image_file("mood.png"), title="mood")
    api = api_as(cast["alice"])
    for layer in ({"version": cast["version_b"].pk}, {"reference": borealis_reference.pk}):
        with nothing_written():
            response = _finishing(api, cast["version_a"], {"op": "composite", "layers": [layer]}, format="json")
            _refused(response, "another client")


def test_a_layer_mask_that_is_not_a_mask_or_does_not_exist_is_refused(cast, masks, nothing_written):
    svg = DerivedFile.objects.create(
        brief=cast["brief_a"], source=cast["version_a"], kind=DerivedFile.Kind.SVG, blob=cast["version_a"].blob,
        width=1, height=1,
    )  # fmt: skip
    api = _quiet(api_as(cast["alice"]))
    for mask, status in ((svg.pk, 400), (10**30, 404), (True, 400)):
        with nothing_written():
            body = {"op": "composite", "layers": [{"version": cast["version_a2"].pk, "mask": mask}]}
            response = _finishing(api, cast["version_a"], body, format="json")
            assert response.status_code == status, (mask, response.content)


@pytest.mark.parametrize(
    "op, params, files",
    [
        ("grade", GRADE, {"lut": IDENTITY_CUBE.encode()}),
        ("lut", {}, {"lut": IDENTITY_CUBE.encode(), "font": b"not read"}),
        ("text_overlay", {"text": "hi"}, {"profile": b"not read"}),
        ("composite", {}, {"mask": image_bytes(colour=(255, 255, 255))}),
        ("denoise", {"strength": 0.5}, {"parent": image_bytes()}),
        ("denoise", {"strength": 0.5}, {"upscaler": b"weights"}),
    ],
)
def test_api_files_under_roles_the_operation_does_not_read_are_refused_and_not_stored(
    cast, nothing_written, op, params, files
):
    api = api_as(cast["alice"])
    body = {"op": op, "params": json.dumps(params)}
    if op == "composite":
        body["layers"] = json.dumps([{"version": cast["version_a2"].pk}])
    for role, data in files.items():
        body[role] = _named(data, role)
    unread = sorted(set(files) - {"lut"} if op == "lut" else files)
    with nothing_written():
        response = api.post(f"/api/versions/{cast['version_a'].pk}/finishing/", body, format="multipart")
        _refused(response, f"does not read {', '.join(unread)}")


def _named(data: bytes, role: str):
    from django.core.files.base import ContentFile

    return ContentFile(data, name=f"{role}.bin")


@pytest.mark.parametrize(
    "op",
    [
        "upscale", "matte", "mask_refine", "vectorise", "rendition", "import", "reproduce", "grid", "txt2img",
        "img2img", "inpaint", "outpaint", "controlnet", "posterise", "", "GRADE", "grade ",
    ],
)  # fmt: skip
def test_api_only_operations_declared_to_start_there(cast, nothing_written, op):
    api = api_as(cast["alice"])
    with nothing_written():
        _refused(_finishing(api, cast["version_a"], {"op": op, "params": {}}, format="json"))


@pytest.mark.parametrize(
    "op, params",
    [
        ("sharpen", {"radius": 1.0, "percent": True, "threshold": 0}),  # bool for an int
        ("sharpen", {"radius": True, "percent": 100, "threshold": 0}),  # bool for a float
        ("sharpen", {"radius": "1.0", "percent": 100, "threshold": 0}),  # text for a number
        ("sharpen", {"radius": 1.0, "percent": 100.0, "threshold": 0}),  # float for an int
        ("grade", {**GRADE, "exposure": {"value": 0.3}}),  # nested object
        ("grade", {**GRADE, "exposure": [0.3]}),
        ("grade", {**GRADE, "exposure": None}),
        ("grade", {**GRADE, "extra": 1}),  # an unknown key
        ("grade", {**GRADE, "exposure": 5.0000001}),
        ("denoise", {}),  # missing
        ("text_overlay", {"text": "hi", "colour": "red"}),  # pattern
        ("text_overlay", {"text": "hi", "colour": "#FFFFFF\n"}),
        ("text_overlay", {"text": "hi", "position": "left"}),  # choices
        ("text_overlay", {"text": ["hi"]}),
        ("composite", {"blend": "difference"}),
    ],
)
def test_api_hostile_parameters_are_refused(cast, nothing_written, op, params):
    api = api_as(cast["alice"])
    body = {"op": op, "params": params}
    if op == "composite":
        body["layers"] = [{"version": cast["version_a2"].pk}]
    with nothing_written():
        _refused(_finishing(api, cast["version_a"], body, format="json"))


@pytest.mark.parametrize(
    "body",
    [
        '{"op": "denoise", "params": {"strength": NaN}}',
        '{"op": "denoise", "params": {"strength": Infinity}}',
        '{"op": "denoise", "params": {"strength": -Infinity}}',
        '{"op": "denoise", "params": {"strength": 1e999}}',
        '{"op": "denoise", "params": ' + "[" * 40 + "]" * 40 + "}",
        '{"op": "denoise", "params": {"strength": 0.5}',
        '{"op": "denoise", "params": "{\\"strength\\": NaN}"}',
        '{"op": ["denoise"], "params": {"strength": 0.5}}',
        '{"op": "composite", "layers": [{"version": true}]}',
        '{"op": "composite", "layers": {"version": 1}}',
        "[]",
    ],
)
def test_api_malformed_json_is_a_400(cast, nothing_written, body):
    api = _quiet(api_as(cast["alice"]))
    with nothing_written():
        _refused(_finishing(api, cast["version_a"], body))


def test_multipart_params_with_nan_are_refused(cast, nothing_written):
    api = api_as(cast["alice"])
    with nothing_written():
        response = api.post(
            f"/api/versions/{cast['version_a'].pk}/finishing/",
            {"op": "denoise", "params": '{"strength": NaN}'},
            format="multipart",
        )
        _refused(response)


def test_dedicated_endpoints_refuse_nan_and_out_of_range_numbers(cast, masks, nothing_written):
    api = api_as(cast["alice"])
    version = cast["version_a"].pk
    with nothing_written():
        _refused(api.post(f"/api/versions/{version}/palette-snap/", {"strength": "nan"}))
        _refused(api.post(f"/api/versions/{version}/palette-snap/", {"pull": "nan"}))
        _refused(api.post(f"/api/versions/{version}/vectorise/", {"length_threshold": "nan"}))
        _refused(api.post(f"/api/versions/{version}/vectorise/", {"filter_speckle": "1" + "0" * 400}))
        _refused(api.post(f"/api/versions/{version}/upscale/", {"target_width": 10**12, "target_height": 10}))
        _refused(api.post(f"/api/derived-files/{masks['a'].pk}/refine/", {"feather": "inf"}))


def test_api_a_side_files_hash_is_never_taken_from_the_caller(cast, nothing_written):
    """Beside the font hole: a `lut_sha256` given with the .cube is refused too, so a recipe's file hashes are only
    ever the stored files' own."""
    from django.core.files.base import ContentFile

    with nothing_written():
        response = api_as(cast["alice"]).post(
            f"/api/versions/{cast['version_a'].pk}/finishing/",
            {
                "op": "lut",
                "params": json.dumps({"lut_sha256": "0" * 64}),
                "lut": ContentFile(IDENTITY_CUBE.encode(), name="a.cube"),
            },
            format="multipart",
        )
    assert response.status_code == 400 and "recorded from the file itself" in response.json()["message"]


def test_a_valid_side_file_with_refused_parameters_leaves_no_blob(cast, nothing_written):
    """The .cube passes its check and is stored inside the transaction; the refusal of `strength` afterwards must take
    the blob's row and its file back with it."""
    api = api_as(cast["alice"])
    from django.core.files.base import ContentFile

    with nothing_written():
        response = api.post(
            f"/api/versions/{cast['version_a'].pk}/finishing/",
            {
                "op": "lut",
                "params": json.dumps({"strength": 2.0}),
                "lut": ContentFile(IDENTITY_CUBE.encode(), name="a.cube"),
            },
            format="multipart",
        )
        _refused(response, "strength")
        response = api.post(
            f"/api/versions/{cast['version_a'].pk}/finishing/",
            {"op": "lut", "params": "{}", "lut": ContentFile(b"LUT_3D_SIZE 2\n0 0 0\n", name="a.cube")},
            format="multipart",
        )
        _refused(response)


def test_a_rejected_version_is_finished_through_no_door(cast, nothing_written):
    version = cast["version_a"]
    Version.objects.filter(pk=version.pk).update(status=Version.Status.REJECTED)
    browser = _admin(cast["alice"])
    with nothing_written():
        _refused(
            _finishing(api_as(cast["alice"]), version, {"op": "denoise", "params": {"strength": 0.5}}, format="json")
        )
        _refused(api_as(cast["alice"]).post(f"/api/versions/{version.pk}/palette-snap/", {}), "rejected")
        _refused(api_as(cast["alice"]).post(f"/api/versions/{version.pk}/vectorise/", {}), "rejected")
        response = _finish_in_admin(browser, version, op="denoise", params='{"strength": 0.5}')
        assert response.status_code == 302
        assert "rejected" in browser.get(CHANGELIST).content.decode()
        with pytest.raises(CommandError, match="rejected"):
            call_command("finish", str(version.pk), op="denoise", params='{"strength": 0.5}')


@pytest.mark.parametrize("op", ["upscale", "txt2img", "matte", "composite", "lut", "rendition", "posterise"])
def test_admin_finish_form_refuses_a_forged_operation(cast, nothing_written, op):
    browser = _admin(cast["alice"])
    with nothing_written():
        response = _finish_in_admin(browser, cast["version_a"], op=op, params="{}")
        assert response.status_code == 200 and "Select a valid choice" in response.content.decode()


def test_admin_finish_form_refuses_hostile_parameters_with_a_message(cast, nothing_written):
    browser = _admin(cast["alice"])
    with nothing_written():
        for params in ('{"amount": true}', '{"amount": 0.5, "extra": 1}', '{"amount": {"x": 1}}', "{", "not json"):
            response = _finish_in_admin(browser, cast["version_a"], op="vignette", params=params)
            assert response.status_code in (200, 302), (params, response.status_code)


def test_admin_finish_action_is_not_for_reviewers_or_another_clients_scoped_producer(cast, gina, nothing_written):
    with nothing_written():
        for user in (cast["bob"], cast["dana"], gina):
            browser = _admin(user)
            _finish_in_admin(browser, cast["version_a"], op="denoise", params='{"strength": 0.5}')
            form = browser.post(CHANGELIST, {"action": "finish_versions", "_selected_action": [cast["version_a"].pk]})
            assert "A master" not in form.content.decode()
    # The control: Gina finishes her own client's version through the same form.
    _finish_in_admin(_admin(gina), cast["version_b"], op="denoise", params='{"strength": 0.5}')
    assert Derivation.objects.get(op="denoise").used.get(role=Used.Role.PARENT).version == cast["version_b"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/versions/{huge}/finishing/",
        "/api/versions/{huge}/upscale/",
        "/api/versions/{huge}/palette-snap/",
        "/api/versions/{huge}/vectorise/",
        "/api/derived-files/{huge}/refine/",
    ],
)
def test_api_ids_past_bigint_are_missing_not_a_500(cast, nothing_written, url):
    api = _quiet(api_as(cast["alice"]))
    body = {"op": "denoise", "params": {"strength": 0.5}, "grow": 2, "target_width": 512, "target_height": 512}
    with nothing_written():
        assert api.post(url.format(huge=10**30), body, format="json").status_code == 404


def test_api_layers_are_refused_for_an_operation_that_takes_none(cast, nothing_written):
    api = api_as(cast["alice"])
    body = {"op": "denoise", "params": {"strength": 0.5}, "layers": [{"version": cast["version_a2"].pk}]}
    with nothing_written():
        _refused(_finishing(api, cast["version_a"], body, format="json"), "takes no layers")


@pytest.mark.parametrize(
    "options, phrase",
    [
        ({"op": "matte"}, "not started from here"),
        ({"op": "composite"}, "not started from here"),
        ({"op": "txt2img"}, "not started from here"),
        ({"op": "rendition"}, "not started from here"),
        ({"op": "posterise"}, "not started from here"),
        ({"op": "denoise", "params": '{"strength": NaN}'}, "not valid JSON"),
        ({"op": "denoise", "params": "{"}, "not valid JSON"),
        ({"op": "denoise", "params": '{"strength": true}'}, "must be float"),
        ({"op": "lut", "file": ["lut=/nonexistent/brand.cube"]}, "could not be read"),
        ({"op": "lut", "file": ["lut=/"]}, "could not be read"),
        ({"op": "lut", "file": ["lut"]}, "ROLE=VALUE"),
        ({"op": "lut", "file": ["=x"]}, "ROLE=VALUE"),
        ({"op": "lut"}, "needs a .cube"),
        ({"op": "denoise", "params": '{"strength": 0.5}', "file": ["lut=CUBE"]}, "does not read lut"),
        ({"op": "denoise", "params": '{"strength": 0.5}', "model": ["upscaler=abc"]}, "no registered weights"),
        ({"op": "denoise", "params": '{"strength": 0.5}', "model": ["upscaler=999999"]}, "no registered weights"),
        ({"op": "upscale"}, "upscaler weights"),
        ({"op": "denoise", "params": '{"strength": 0.5}', "user": "nobody"}, "no user"),
        ({"op": "denoise", "params": '{"strength": 0.5}', "user": "dana"}, "may not start finishing"),
    ],
)
def test_cli_refuses_with_a_command_error_and_writes_nothing(cast, tmp_path, nothing_written, options, phrase):
    cube = tmp_path / "brand.cube"
    cube.write_text(IDENTITY_CUBE)
    options = {
        key: [item.replace("CUBE", str(cube)) for item in value] if isinstance(value, list) else value
        for key, value in options.items()
    }
    with nothing_written(), pytest.raises(CommandError, match=phrase):
        call_command("finish", str(cast["version_a"].pk), stdout=StringIO(), **options)


def test_cli_malformed_side_file_is_refused_before_anything_is_stored(cast, tmp_path, nothing_written):
    bad = tmp_path / "bad.cube"
    bad.write_bytes(b"\x89PNG not a cube")
    with nothing_written(), pytest.raises(CommandError):
        call_command("finish", str(cast["version_a"].pk), op="lut", file=[f"lut={bad}"])
    with nothing_written(), pytest.raises(CommandError, match="does not exist"):
        call_command("finish", "999999999", op="denoise", params='{"strength": 0.5}')


def test_cli_the_honest_call_still_works(cast, tmp_path):
    """A control: the refusals above are not refusing everything."""
    cube = tmp_path / "brand.cube"
    cube.write_text(IDENTITY_CUBE)
    out = StringIO()
    call_command("finish", str(cast["version_a"].pk), op="lut", file=[f"lut={cube}"], user="alice", stdout=out)
    derivation = Derivation.objects.get(op="lut")
    assert derivation.created_by == cast["alice"]
    assert derivation.used.get(role=Used.Role.LUT).blob_id == derivation.params["lut_sha256"]


def test_the_web_process_and_the_finish_command_do_not_import_the_ml_stack():
    code = (
        "import os, sys, django\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings.local')\n"
        "django.setup()\n"
        "import config.wsgi, config.urls\n"
        "from django.urls import get_resolver; get_resolver().url_patterns\n"
        "import generation.api.finishing, generation.admin_finishing\n"
        "from django.core.management import call_command\n"
        "call_command('check'); call_command('finish', list=True)\n"
        "print(sorted(m for m in ('torch', 'diffusers', 'spandrel', 'c2pa', 'transformers', 'onnxruntime', 'vtracer')"
        " if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
