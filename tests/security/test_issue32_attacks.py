"""Attacks on issue 32 (training a LoRA inside the lineage), through routes the issue names and some it does not.

Alice produces (studio-wide), Dana reviews for Aurora (client A), Charlie for Borealis (client B), Gina produces for
Borealis only (a scoped producer). Aurora's LoRA is trained for real on Aurora's images, with the tiny models.

Holes these found when they were written, and hold the fixes of: a `<lora:…>` tag in a prompt and an imported file's
recipe resolved another client's LoRA by name or hash (naming it, or answering "belongs to another client" where an
unknown name answers "names no registered LoRA"); a NaN learning rate reached the database (a DataError, not a
refusal); a diverging training (learning rate 1.0, which the recipe allows) put a NaN loss in its progress log and
failed on a database error; `sample_every` 1 over 100,000 steps asked for 100,000 samples held in memory, and the
sample prompt had no length limit; a training sample's bundle on a channel that keeps the recipe in carried the
training's captions (the prompts of the images it learned from) in lineage.json; a training sample could not be
delivered at all (its chain ran up through its training images' generations: two c2pa.created actions).
"""

from __future__ import annotations

import json
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from assets.errors import ApplicationError
from assets.models import Derivation, ModelWeights, Used, Version
from assets.services.versions import version_import
from generation.requests import GenerationRequest
from generation.services.jobs import generation_job_create
from generation.services.training import lora_training_cancel, lora_training_create
from review.roles import PRODUCER
from tests.factories import api_as, image_bytes, image_file, member
from tests.generation.conftest import FAST
from tests.security.conftest import row_counts

pytestmark = pytest.mark.django_db
QUICK = {"name": "Aurora secret style", "rank": 4, "steps": 3, "learning_rate": 1e-3, "resolution": 64, "seed": 7}
SECRET_PROMPT = "aurora confidential citrus swirl"


def approved(brief, count=2, prefix="img"):
    versions = []
    for index in range(count):
        version = version_import(
            brief=brief,
            source=image_file(f"{prefix}{index}.png", size=(64, 64), colour=(30 * index, 90, 160)),
            label=f"{prefix} {index}",
        )
        version.status = Version.Status.APPROVED
        version.save(update_fields=["status"])
        versions.append(version)
    return versions


def raw_api(user):
    api = api_as(user)
    api.raise_request_exception = False  # a 500 is an answer here, not an exception in the test
    return api


@pytest.fixture
def gina(cast):
    return member("gina", PRODUCER, cast["brief_b"].campaign.client)


@pytest.fixture
def aurora_lora(cast, tiny, run_jobs) -> ModelWeights:
    """Aurora's LoRA, trained for real on two approved Aurora images."""
    with run_jobs():
        training = lora_training_create(versions=approved(cast["brief_a"]), base=tiny["base"], params=QUICK)
    training.refresh_from_db()
    assert training.state == Derivation.State.SUCCEEDED, training.error
    return ModelWeights.objects.get(trained_by=training)


# --- a producer scoped to Borealis and Aurora's LoRA --------------------------------------------------------------


def test_gina_finds_nothing_of_auroras_training_or_lora_through_the_api(cast, aurora_lora, gina):
    api = raw_api(gina)
    training = aurora_lora.trained_by
    markers = [QUICK["name"], aurora_lora.sha256, aurora_lora.sha256[:10]]
    for path in [
        "/api/trainings/",
        f"/api/trainings/?brief={cast['brief_a'].pk}",
        "/api/model-weights/",
        f"/api/model-weights/?search={QUICK['name']}",
        f"/api/model-weights/?sha256={aurora_lora.sha256}",
        "/api/model-weights/?kind=lora",
        "/api/licences/",
    ]:
        response = api.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert not any(marker in response.content.decode() for marker in markers), path
    for path in [
        f"/api/trainings/{training.pk}/",
        f"/api/model-weights/{aurora_lora.pk}/",
        f"/api/model-weights/{aurora_lora.pk}/impact/",
        f"/api/derivations/{training.pk}/",
    ]:
        assert api.get(path).status_code == 404, path
    # Her own client's trainings list is empty, not an error; the studio's base stays shared.
    assert api.get("/api/trainings/").json()["results"] == []


def test_a_studio_licence_on_auroras_lora_lists_it_only_to_those_who_see_it(cast, tiny, aurora_lora, gina):
    from assets.models import Licence

    licence = Licence.objects.create(name="Studio terms", commercial_use=True)
    licence.model_weights.add(tiny["base"], aurora_lora)
    mine = raw_api(gina).get(f"/api/licences/{licence.pk}/")
    assert mine.status_code == 200 and mine.json()["model_weights"] == [tiny["base"].pk]
    impact = raw_api(gina).get(f"/api/licences/{licence.pk}/impact/")
    assert impact.status_code == 200 and impact.json()["versions_total"] == 0
    assert raw_api(cast["alice"]).get(f"/api/licences/{licence.pk}/").json()["model_weights"] == sorted(
        [tiny["base"].pk, aurora_lora.pk]
    )
    # Nor may she change what it covers: the registry's licences are studio-wide writes.
    patched = raw_api(gina).patch(f"/api/licences/{licence.pk}/", {"model_weights": []}, format="json")
    assert patched.status_code == 403
    assert set(licence.model_weights.values_list("pk", flat=True)) == {tiny["base"].pk, aurora_lora.pk}


def test_gina_cannot_cancel_auroras_running_training(cast, tiny, gina):
    training = lora_training_create(versions=approved(cast["brief_a"]), base=tiny["base"], params=QUICK)
    response = raw_api(gina).post(f"/api/trainings/{training.pk}/cancel/")
    assert response.status_code == 404, response.content
    training.refresh_from_db()
    assert training.state == Derivation.State.QUEUED
    # Nor through the admin's cancel action, with Aurora's training selected by id.
    browser = Client()
    browser.force_login(gina)
    browser.post(
        "/admin/assets/derivation/", {"action": "cancel_trainings", "_selected_action": [training.pk]}, follow=True
    )
    training.refresh_from_db()
    assert training.state == Derivation.State.QUEUED


def test_gina_cannot_train_on_auroras_versions_or_record_into_auroras_brief(cast, tiny, gina, aurora_lora):
    theirs = approved(cast["brief_a"], prefix="a")
    ours = approved(cast["brief_b"], prefix="b")
    api = raw_api(gina)
    good = {"versions": [v.pk for v in ours], "base_model": tiny["base"].pk, "params": QUICK}
    before = row_counts()
    unknown = api.post("/api/trainings/", {**good, "versions": [999_999_999]}, format="json")
    hidden = api.post("/api/trainings/", {**good, "versions": [theirs[0].pk]}, format="json")
    assert unknown.status_code == hidden.status_code == 400
    # An id of another client's version reads as one that does not exist: no oracle.
    assert hidden.json()["message"].replace(str(theirs[0].pk), "N") == unknown.json()["message"].replace(
        "999999999", "N"
    )
    for body in [
        {**good, "brief": cast["brief_a"].pk},
        {**good, "base_model": aurora_lora.pk},
        {**good, "versions": [*good["versions"], theirs[1].pk]},
    ]:
        response = api.post("/api/trainings/", body, format="json")
        assert response.status_code == 400, response.content
        assert QUICK["name"] not in response.content.decode()
    assert row_counts() == before


def test_gina_cannot_generate_with_auroras_lora_by_id(cast, tiny, gina, aurora_lora):
    api = raw_api(gina)
    before = row_counts()
    body = {
        "brief": cast["brief_b"].pk,
        "base_model": tiny["base"].pk,
        "prompt": "a can",
        "params": {**FAST, "seed": 1, "batch_size": 1},
    }
    unknown = api.post("/api/jobs/", {**body, "loras": [{"weights": 999_999_999}]}, format="json")
    hidden = api.post("/api/jobs/", {**body, "loras": [{"weights": aurora_lora.pk}]}, format="json")
    assert unknown.status_code == hidden.status_code == 400
    assert QUICK["name"] not in hidden.content.decode()
    grid = api.post(
        "/api/grids/",
        {**body, "loras": [{"weights": aurora_lora.pk}], "axes": [{"kind": "seed", "values": [1, 2]}]},
        format="json",
    )
    assert grid.status_code == 400, grid.content
    assert row_counts() == before


def _tag_error(*, brief, tiny, name: str) -> str:
    with pytest.raises(ApplicationError) as refused:
        generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=tiny["base"],
                prompt_text=f"a can <lora:{name}:0.8>",
                params={**FAST, "seed": 1, "batch_size": 1},
            )
        )
    return refused.value.message


@pytest.mark.parametrize("by", ["name", "hash"])
def test_a_lora_tag_in_a_borealis_prompt_does_not_find_auroras_lora(cast, tiny, aurora_lora, by):
    """HOLE (fixed): `<lora:Aurora secret style>` resolved Aurora's LoRA for a Borealis brief, so the refusal named
    it as another client's where an unknown name is "names no registered LoRA": a guessing oracle for LoRA names and
    hashes."""
    term = QUICK["name"] if by == "name" else aurora_lora.sha256[:12]
    before = row_counts()
    hidden = _tag_error(brief=cast["brief_b"], tiny=tiny, name=term)
    assert "names no registered LoRA" in hidden, hidden
    assert str(aurora_lora.pk) not in hidden and "another client" not in hidden
    assert row_counts() == before


def test_a_borealis_lora_named_like_auroras_is_found_by_its_tag(cast, tiny, aurora_lora, run_jobs):
    """Aurora's LoRA of the same name is not Borealis's business: the tag finds Borealis's own, not "several"."""
    with run_jobs():
        training = lora_training_create(versions=approved(cast["brief_b"], prefix="b"), base=tiny["base"], params=QUICK)
    theirs = ModelWeights.objects.get(trained_by=training)
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=cast["brief_b"],
                op="txt2img",
                base_model=tiny["base"],
                prompt_text=f"a can <lora:{QUICK['name']}:0.8>",
                params={**FAST, "seed": 1, "batch_size": 1},
            )
        )
    derivation = job.batches.get().derivation
    assert derivation.state == "succeeded", derivation.error
    assert list(derivation.used.filter(role=Used.Role.LORA).values_list("model_weights", flat=True)) == [theirs.pk]
    # In Aurora's brief the same tag finds Aurora's.
    assert theirs.pk != aurora_lora.pk


def test_an_imported_recipe_naming_auroras_lora_does_not_bind_it_in_borealis(cast, gina, aurora_lora):
    """HOLE (fixed): a PNG whose A1111 parameters name Aurora's LoRA (by name or short hash) was matched to it on
    import into a Borealis brief, and the file was refused as using "modelweights N", another client's: an oracle for
    Aurora's LoRA names and hashes, and a Borealis file Borealis could not import."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import PngImagePlugin

    def recipe_png(infotext: str, colour) -> SimpleUploadedFile:
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", infotext)
        return SimpleUploadedFile(f"r{colour[0]}.png", image_bytes(colour=colour, pnginfo=info), "image/png")

    steps = "Steps: 4, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 32x32, Model: somebase"
    files = [
        recipe_png(f"a can <lora:{QUICK['name']}:0.8>\n{steps}", (3, 4, 5)),
        recipe_png(f'a can <lora:xyz:0.8>\n{steps}, Lora hashes: "xyz: {aurora_lora.sha256[:12]}"', (6, 7, 8)),
    ]
    response = raw_api(gina).post(
        "/api/versions/import-images/", {"brief": cast["brief_b"].pk, "files": files}, format="multipart"
    )
    text = response.content.decode()
    assert response.status_code == 201, text
    reports = response.json()
    assert [report["imported"] for report in reports] == [True, True], reports
    # Each names Aurora's LoRA as missing, as it would a name or hash nobody registered.
    assert [[model["role"] for model in report["missing"]] for report in reports] == [["base_model", "lora"]] * 2
    assert not any(report["matched"] for report in reports), reports
    assert aurora_lora.sha256[12:] not in text and "another client" not in text
    assert not Used.objects.filter(model_weights=aurora_lora).exclude(derivation=aurora_lora.trained_by).exists()


def test_gina_sees_nothing_of_auroras_lora_in_the_admin(cast, aurora_lora, gina):
    browser = Client()
    browser.force_login(gina)
    training = aurora_lora.trained_by
    for path, params in [
        ("/admin/assets/modelweights/", {}),
        ("/admin/assets/modelweights/", {"q": QUICK["name"]}),
        ("/admin/assets/modelweights/", {"q": aurora_lora.sha256}),
        ("/admin/assets/derivation/", {"op": "train_lora"}),
        ("/admin/assets/licence/add/", {}),
        (
            "/admin/autocomplete/",
            {"app_label": "assets", "model_name": "licence", "field_name": "model_weights", "term": "Aurora"},
        ),
    ]:
        response = browser.get(path, params)
        assert response.status_code in (200, 302, 403, 404), (path, response.status_code)
        text = response.content.decode()
        assert f"/modelweights/{aurora_lora.pk}/" not in text, (path, params)
        if "q" in params:
            # The page echoes what was typed (the search box, its filter links), and finds nothing.
            assert "0 results" in text, (path, params)
            text = text.replace(params["q"], "").replace(params["q"].replace(" ", "+"), "")
        for marker in (QUICK["name"], aurora_lora.sha256):
            assert marker not in text, (path, params, text[max(0, text.find(marker) - 300) : text.find(marker) + 100])
    for path in [
        f"/admin/assets/modelweights/{aurora_lora.pk}/change/",
        f"/admin/assets/derivation/{training.pk}/change/",
    ]:
        response = browser.get(path)
        assert response.status_code in (302, 404), (path, response.status_code)
    # The train action, posted with Aurora's version ids and a complete recipe, trains nothing.
    theirs = approved(cast["brief_a"], prefix="a")
    posted = {
        "action": "train_lora_on_versions",
        "_selected_action": [v.pk for v in theirs],
        "confirm": "yes",
        "base_model": aurora_lora.trained_by.used.get(role="base_model").model_weights_id,
        **QUICK,
        "batch_size": 1,
        "sample_every": 0,
        "sample_steps": 2,
        **{f"caption_{v.pk}": "x" for v in theirs},
    }
    before = row_counts()
    browser.post("/admin/assets/version/", posted)
    assert row_counts() == before
    studio = Client()
    studio.force_login(cast["alice"])
    assert studio.post("/admin/assets/version/", posted).status_code == 302  # the same post trains, for Alice
    assert Derivation.objects.filter(op="train_lora").count() == 2
    # The train form's brief and base choices, opened on Borealis's own versions.
    ours = approved(cast["brief_b"], prefix="b")
    form = browser.post(
        "/admin/assets/version/",
        {"action": "train_lora_on_versions", "_selected_action": [v.pk for v in ours]},
    )
    assert form.status_code == 200
    text = form.content.decode()
    assert "Train a LoRA on 2 image(s)" in text
    assert cast["brief_a"].title not in text and QUICK["name"] not in text


# --- client reviewers ---------------------------------------------------------------------------------------------


def test_client_reviewers_neither_start_nor_cancel_nor_read_trainings(cast, tiny, aurora_lora):
    queued = lora_training_create(versions=approved(cast["brief_a"], prefix="q"), base=tiny["base"], params=QUICK)
    body = {"versions": [v.pk for v in approved(cast["brief_a"], prefix="d")], "base_model": tiny["base"].pk}
    before = row_counts()
    for user in (cast["dana"], cast["charlie"]):
        api = raw_api(user)
        assert api.post("/api/trainings/", {**body, "params": QUICK}, format="json").status_code == 403
        assert api.post(f"/api/trainings/{queued.pk}/cancel/").status_code in (403, 404)
        # Without lineage sharing, not even Aurora's reviewer reads the training (its captions are prompts).
        assert api.get("/api/trainings/").json()["results"] == []
        assert api.get(f"/api/model-weights/{aurora_lora.pk}/").status_code in (403, 404)
    queued.refresh_from_db()
    assert queued.state == Derivation.State.QUEUED
    assert row_counts() == before


# --- malformed input: a clear 400 and nothing written, nothing queued -----------------------------------------------

MALFORMED = [
    ("no versions", {"versions": []}, "versions"),
    ("600 versions", {"versions": list(range(1, 601))}, "versions"),
    ("duplicate", {"versions": "dup"}, "chosen twice"),
    ("string id", {"versions": ["abc"]}, "versions"),
    ("negative id", {"versions": [-1]}, "versions"),
    ("bool id", {"versions": [True]}, "versions"),
    ("huge rank", {"params": {**QUICK, "rank": 10**30}}, "rank"),
    ("negative rank", {"params": {**QUICK, "rank": -4}}, "rank"),
    ("bool rank", {"params": {**QUICK, "rank": True}}, "rank"),
    ("string rank", {"params": {**QUICK, "rank": "16"}}, "rank"),
    ("float rank", {"params": {**QUICK, "rank": 4.5}}, "rank"),
    ("huge learning rate", {"params": {**QUICK, "learning_rate": 1e308}}, "learning_rate"),
    ("overflowing learning rate", {"params": {**QUICK, "learning_rate": 10**400}}, "learning_rate"),
    ("string steps", {"params": {**QUICK, "steps": "3"}}, "steps"),
    ("zero steps", {"params": {**QUICK, "steps": 0}}, "steps"),
    ("negative seed", {"params": {**QUICK, "seed": -1}}, "seed"),
    ("huge seed", {"params": {**QUICK, "seed": 2**64}}, "seed"),
    ("resolution 100", {"params": {**QUICK, "resolution": 100}}, "multiple of 64"),
    ("resolution 0", {"params": {**QUICK, "resolution": 0}}, "resolution"),
    ("bool resolution", {"params": {**QUICK, "resolution": True}}, "resolution"),
    ("sample_every > steps", {"params": {**QUICK, "sample_every": 4}}, "sample_every"),
    ("a sample every step of 100,000", {"params": {**QUICK, "steps": 100_000, "sample_every": 1}}, "at most 100"),
    ("negative sample_every", {"params": {**QUICK, "sample_every": -1}}, "sample_every"),
    ("long sample prompt", {"params": {**QUICK, "sample_prompt": "x" * 1001}}, "sample prompt"),
    ("unknown param", {"params": {**QUICK, "network_module": "lycoris"}}, "unknown parameter"),
    ("captions in params", {"params": {**QUICK, "captions": ["a", "b"]}}, "captions"),
    ("no name", {"params": {key: v for key, v in QUICK.items() if key != "name"}}, "name"),
    ("blank name", {"params": {**QUICK, "name": "   "}}, "name"),
    ("long name", {"params": {**QUICK, "name": "x" * 201}}, "name"),
    ("NUL name", {"params": {**QUICK, "name": "a\x00b"}}, "name"),
    ("list name", {"params": {**QUICK, "name": ["a"]}}, "name"),
    ("other optimizer", {"params": {**QUICK, "optimizer": "prodigy"}}, "optimizer"),
    ("NUL sample prompt", {"params": {**QUICK, "sample_prompt": "a\x00"}}, "sample_prompt"),
    ("surrogate sample prompt", {"params": {**QUICK, "sample_prompt": "a\ud800"}}, "sample_prompt"),
    ("params a list", {"params": [1, 2]}, "object"),
    ("params a string", {"params": "rank=4"}, "params"),
    ("params null", {"params": None}, "params"),
    ("one caption of two", {"captions": ["one"]}, "one caption per training image"),
    ("three captions of two", {"captions": ["a", "b", "c"]}, "one caption per training image"),
    ("NUL caption", {"captions": ["a\x00", "b"]}, "captions"),
    ("surrogate caption", {"captions": ["a\udc00", "b"]}, "captions"),
    ("long caption", {"captions": ["x" * 1001, "b"]}, "captions"),
    ("captions an object", {"captions": {"0": "a"}}, "captions"),
    ("captions of lists", {"captions": [["a"], ["b"]]}, "captions"),
    ("base a LoRA", {"base_model": "lora"}, "base_model"),
    ("base a VAE", {"base_model": "vae"}, "base_model"),
    ("base of an untrainable architecture", {"base_model": "sd35"}, "trains LoRAs on"),
    ("base a string", {"base_model": "sd15"}, "base_model"),
    ("base missing", {"base_model": None}, "base_model"),
    ("brief of another client", {"brief": "other"}, "another client"),
]


@pytest.mark.parametrize("case, change, expected", MALFORMED, ids=[case[0] for case in MALFORMED])
def test_malformed_training_requests_are_a_clear_400_with_nothing_written(
    cast, tiny, django_capture_on_commit_callbacks, case, change, expected
):
    images = approved(cast["brief_a"])
    body = {"versions": [v.pk for v in images], "base_model": tiny["base"].pk, "params": QUICK, **change}
    if body["versions"] == "dup":
        body["versions"] = [images[0].pk, images[0].pk]
    names = {"lora": tiny["lora_a"], "vae": tiny["vae"], "sd35": tiny["sd35"]}
    if body["base_model"] in names:
        body["base_model"] = names[body["base_model"]].pk
    if body.get("brief") == "other":
        body["brief"] = cast["brief_b"].pk
    if body["params"] is None:
        del body["params"]
    before = row_counts()
    with django_capture_on_commit_callbacks() as queued:
        # As JSON text with \u escapes: the test client cannot encode a lone surrogate, a hostile client can.
        response = raw_api(cast["alice"]).post("/api/trainings/", json.dumps(body), content_type="application/json")
    assert response.status_code == 400, (case, response.status_code, response.content[:300])
    assert re.search(expected, json.dumps(response.json()), re.IGNORECASE), (case, response.json())
    assert row_counts() == before and queued == [], case


@pytest.mark.parametrize(
    "params",
    [
        {**QUICK, "learning_rate": float("nan")},
        {**QUICK, "learning_rate": float("inf")},
        {**QUICK, "alpha": float("nan")},
        {**QUICK, "alpha": float("-inf")},
    ],
    ids=["nan learning rate", "inf learning rate", "nan alpha", "-inf alpha"],
)
def test_non_finite_numbers_are_refused_before_anything_is_written(cast, tiny, params):
    """HOLE (fixed): NaN passes every `<`/`>` bound, so a NaN learning rate (the admin form refuses it, a script
    calling the service does not) went into the recipe and Postgres refused the JSON: a DataError, not a refusal."""
    images = approved(cast["brief_a"])
    before = row_counts()
    with pytest.raises(ApplicationError, match="learning_rate|alpha"):
        lora_training_create(versions=images, base=tiny["base"], params=params)
    assert row_counts() == before


def test_a_diverging_training_fails_saying_so_and_registers_nothing(cast, tiny, run_jobs):
    """HOLE (fixed): a learning rate the recipe allows (1.0) drove the loss to NaN, and the progress report put NaN
    in the JSON log: Postgres refused it, and the training failed on a database error (inside a transaction, one that
    left it unable even to record the failure)."""
    with run_jobs():
        training = lora_training_create(
            versions=approved(cast["brief_a"]),
            base=tiny["base"],
            params={**QUICK, "steps": 30, "learning_rate": 1.0, "rank": 256, "train_text_encoder": True},
        )
    training.refresh_from_db()
    assert training.state == Derivation.State.FAILED
    assert "diverged" in training.error and "lower learning rate" in training.error, training.error
    assert not ModelWeights.objects.filter(trained_by=training).exists() and not training.generated.exists()


def test_the_api_refuses_a_nan_in_json_as_a_bad_request(cast, tiny):
    images = approved(cast["brief_a"])
    before = row_counts()
    body = (
        f'{{"versions": [{images[0].pk}], "base_model": {tiny["base"].pk}, '
        '"params": {"name": "x", "rank": 4, "steps": 3, "seed": 1, "learning_rate": NaN}}'
    )
    response = raw_api(cast["alice"]).post("/api/trainings/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert row_counts() == before


def test_service_refuses_what_is_not_a_version_or_a_base(cast, tiny):
    images = approved(cast["brief_a"])
    before = row_counts()
    for versions, base, message in [
        ([images[0].pk], tiny["base"], "training images are versions"),
        ([images[0], tiny["lora_a"]], tiny["base"], "training images are versions"),
        (images, tiny["lora_a"], "registered base model"),
        (images, None, "registered base model"),
        (images * 251, tiny["base"], "at most 500"),
    ]:
        with pytest.raises(ApplicationError, match=message):
            lora_training_create(versions=versions, base=base, params=QUICK)
    with pytest.raises(ApplicationError, match="one caption per training image"):
        lora_training_create(versions=images, base=tiny["base"], params=QUICK, captions="ab")
    assert row_counts() == before


def test_a_borealis_brief_for_auroras_images_is_refused_with_nothing_written(cast, tiny):
    images = approved(cast["brief_a"])
    before = row_counts()
    with pytest.raises(ApplicationError, match="another client"):
        lora_training_create(versions=images, base=tiny["base"], params=QUICK, brief=cast["brief_b"])
    assert row_counts() == before


# --- cancel ---------------------------------------------------------------------------------------------------------


def test_cancel_of_a_finished_or_non_training_derivation(cast, aurora_lora):
    api = raw_api(cast["alice"])
    training = aurora_lora.trained_by
    before = row_counts()
    finished = api.post(f"/api/trainings/{training.pk}/cancel/")
    assert finished.status_code == 400 and "succeeded" in finished.json()["message"]
    assert not lora_training_cancel(derivation=training, cancelled_by=cast["alice"])
    imported = cast["version_a"].generated_by.derivation
    assert api.post(f"/api/trainings/{imported.pk}/cancel/").status_code == 404
    with pytest.raises(ApplicationError, match="not a LoRA training"):
        lora_training_cancel(derivation=imported)
    training.refresh_from_db()
    assert training.state == Derivation.State.SUCCEEDED and training.cancelled_by is None
    assert row_counts() == before


def test_a_cancelled_training_never_runs_and_a_second_cancel_is_refused(cast, tiny, run_jobs):
    from generation.training_files import training_run

    training = lora_training_create(versions=approved(cast["brief_a"]), base=tiny["base"], params=QUICK)
    api = raw_api(cast["alice"])
    assert api.post(f"/api/trainings/{training.pk}/cancel/").status_code == 200
    assert api.post(f"/api/trainings/{training.pk}/cancel/").status_code == 400
    assert training_run(derivation_id=training.pk) == "skipped"
    training.refresh_from_db()
    assert training.state == Derivation.State.CANCELLED
    assert not ModelWeights.objects.filter(trained_by=training).exists() and not training.generated.exists()


# --- the at-least-once broker ------------------------------------------------------------------------------------


def test_running_the_task_twice_makes_one_lora_and_one_set_of_samples(cast, tiny, run_jobs):
    from generation.training_files import training_run

    with run_jobs():
        training = lora_training_create(
            versions=approved(cast["brief_a"]),
            base=tiny["base"],
            params={**QUICK, "sample_every": 3, "sample_steps": 2},
        )
    training.refresh_from_db()
    assert training.state == Derivation.State.SUCCEEDED, training.error
    counts = row_counts()
    log = list(training.progress_log)
    assert training_run(derivation_id=training.pk) == "skipped"
    assert training_run(derivation_id=training.pk) == "skipped"
    training.refresh_from_db()
    assert row_counts() == counts and training.progress_log == log
    assert ModelWeights.objects.filter(trained_by=training).count() == 1 and training.generated.count() == 1


# --- reproduce --lora -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--lora", "999999999"], "do not exist"),
        (["--lora", "0"], "do not exist"),
        (["--lora", "-3"], "do not exist"),
        (["--lora", str(2**70)], "do not exist"),
        (["--lora", "abc"], "invalid int"),
        (["--lora", "1", "5"], "one of them"),
        (["--lora", "1", "--record"], "only compared"),
        (["--lora", "1", "--threads", "0"], "at least 1"),
    ],
)
def test_reproduce_lora_on_nonsense_is_a_command_error(tiny, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("reproduce", *arguments)


def test_reproduce_lora_on_weights_not_trained_here_is_a_command_error(tiny):
    for weights in (tiny["lora_a"], tiny["base"], tiny["flux"]):
        with pytest.raises(CommandError, match="not trained here"):
            call_command("reproduce", "--lora", str(weights.pk))


# --- what a delivered training sample carries -------------------------------------------------------------------


@pytest.fixture
def aurora_sample(cast, tiny, run_jobs) -> Version:
    """A training sample of a LoRA learned from an Aurora image generated from a confidential prompt, its caption the
    prompt by default, approved by Aurora's reviewer."""
    from tests.delivery.conftest import approve

    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=cast["brief_a"],
                op="txt2img",
                base_model=tiny["base"],
                prompt_text=SECRET_PROMPT,
                params={**FAST, "seed": 3, "batch_size": 1},
            ),
            created_by=cast["alice"],
        )
    made = job.batches.get().derivation.generated.get().version
    made.status = Version.Status.APPROVED
    made.save(update_fields=["status"])
    with run_jobs():
        training = lora_training_create(
            versions=[made], base=tiny["base"], params={**QUICK, "sample_every": 3, "sample_steps": 2}
        )
    training.refresh_from_db()
    assert training.state == Derivation.State.SUCCEEDED, training.error
    assert training.params["captions"] == [SECRET_PROMPT]
    sample = training.generated.get().version
    approve(sample, producer=cast["alice"], client_user=cast["dana"])
    return sample


def _bundle_lineage(sample: Version, exposure: str) -> tuple[dict, dict]:
    """What a delivery of `sample` on a channel at `exposure` writes as the bundle's lineage.json and carries in each
    file's manifest, made by the functions the delivery runs (delivery.services.deliveries._deliver)."""
    from assets.rights import version_rights
    from assets.selectors import lineage_graph
    from delivery.models import ChannelPreset
    from delivery.services.lineage_facts import bundle_lineage, lineage_carried, lineage_summary, prompts_withheld
    from review.selectors import version_final_approval

    graph = lineage_graph(version=sample)
    withheld = prompts_withheld(graph=graph)
    summary = lineage_summary(
        master=sample,
        graph=graph,
        chain=graph.chain(),
        approval=version_final_approval(version=sample),
        rights=version_rights(version=sample),
        withheld=withheld,
    )
    preset = ChannelPreset(slug=f"x-{exposure}", recipe_exposure=exposure)
    bundle = bundle_lineage(summary=summary, graph=graph, withheld=withheld, presets=[preset])
    return bundle, lineage_carried(summary, exposure=exposure)


@pytest.mark.parametrize("exposure", ["none", "model_and_seed"])
def test_a_training_samples_bundle_keeps_the_captions_in_where_the_channel_keeps_the_recipe_in(aurora_sample, exposure):
    """HOLE (fixed): on a channel at recipe_exposure "none" (or "model_and_seed") the bundle's lineage.json hid the
    prompts as prompts, but not the training step's captions (here the prompt of the image it learned from, by
    default) or its sample prompt: the client reviewer who downloads the bundle read them."""
    bundle, carried = _bundle_lineage(aurora_sample, exposure)
    assert SECRET_PROMPT not in json.dumps(bundle) and SECRET_PROMPT not in json.dumps(carried)
    steps = [step for step in bundle["summary"]["chain"] if step["op"] == "train_lora"]
    assert steps and "captions" not in steps[0]["params"] and steps[0]["params"]["rank"] == QUICK["rank"]


def test_a_training_samples_full_bundle_still_tells_its_captions(aurora_sample):
    """The fix keeps a full-recipe channel whole: there the captions are the recipe, as a prompt is."""
    bundle, carried = _bundle_lineage(aurora_sample, "full")
    steps = [step for step in bundle["summary"]["chain"] if step["op"] == "train_lora"]
    assert steps and steps[0]["params"]["captions"] == [SECRET_PROMPT]
    nodes = [node for node in bundle["graph"]["nodes"] if node.get("op") == "train_lora"]
    assert nodes and nodes[0]["params"]["captions"] == [SECRET_PROMPT]


def test_a_training_sample_can_be_delivered(cast, aurora_sample, run_jobs):
    from delivery.models import Delivery
    from delivery.services.deliveries import delivery_create
    from tests.delivery.test_delivery_flow import small_preset

    with run_jobs():
        delivery = delivery_create(
            version=aurora_sample, presets=[small_preset(slug="full-32")], created_by=cast["alice"], override_reason="t"
        )
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED, delivery.error


def test_a_withheld_prompt_repeated_as_a_caption_is_withheld_on_a_full_channel(aurora_sample):
    """A prompt the delivery withholds (one repeating a studio-internal note) is withheld where a training's caption
    repeats it too: the caption defaults to the prompt."""
    from assets.rights import version_rights
    from assets.selectors import lineage_graph
    from delivery.models import ChannelPreset
    from delivery.services.lineage_facts import bundle_lineage, lineage_carried, lineage_summary
    from review.selectors import version_final_approval

    graph = lineage_graph(version=aurora_sample)
    withheld = {edge.prompt_id for edge in graph.used if edge.prompt_id}
    assert withheld
    summary = lineage_summary(
        master=aurora_sample,
        graph=graph,
        chain=graph.chain(),
        approval=version_final_approval(version=aurora_sample),
        rights=version_rights(version=aurora_sample),
        withheld=withheld,
    )
    bundle = bundle_lineage(
        summary=summary, graph=graph, withheld=withheld, presets=[ChannelPreset(slug="full", recipe_exposure="full")]
    )
    assert SECRET_PROMPT not in json.dumps(bundle) and SECRET_PROMPT not in json.dumps(lineage_carried(summary))


def test_reproduce_of_a_training_sample_is_a_command_error_not_a_crash(aurora_sample):
    with pytest.raises(CommandError, match="re-run"):
        call_command("reproduce", str(aurora_sample.pk))
