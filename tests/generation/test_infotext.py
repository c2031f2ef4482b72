"""Our PNG `parameters` read back exactly as AUTOMATIC1111 reads them."""

import io

import pytest
from PIL import Image, PngImagePlugin

from assets import SEED_VERSION
from assets.errors import ApplicationError
from assets.infotext import MAX_INFOTEXT, infotext_parse
from assets.models import Version
from assets.services.blobs import blob_open
from generation.requests import GenerationRequest, LoraSpec
from generation.services.jobs import generation_job_create
from tests.factories import make_brief
from tests.generation.conftest import FAST

pytestmark = pytest.mark.django_db


def test_a_generated_png_says_its_recipe_in_a1111s_own_words(tiny, run_jobs):
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=make_brief(),
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a can, on a roof",
                negative_prompt="blurry",
                loras=[LoraSpec(weights=tiny["lora_a"], weight=0.8)],
                params={**FAST, "seed": 321, "batch_size": 1},
            ),
        )
    version = job.batches.get().derivation.generated.get().version
    with blob_open(blob=version.blob) as handle, Image.open(io.BytesIO(handle.read())) as image:
        text = image.text["parameters"]
    parsed = infotext_parse(text)
    lora = tiny["lora_a"]
    assert parsed.prompt == "a can, on a roof" and parsed.negative_prompt == "blurry"
    assert parsed.loras == [(lora.name, 0.8)] and parsed.lora_hashes == {lora.name: lora.sha256[:12]}
    values = parsed.values
    assert (values["Steps"], values["Sampler"], values["Schedule type"], values["CFG scale"], values["Seed"]) == (
        str(FAST["steps"]),
        "DPM++ 2M",
        "Karras",
        "7",
        "321",
    )
    assert values["Size"] == f"{FAST['width']}x{FAST['height']}" and values["Model"] == tiny["base"].name
    assert values["Model hash"] == tiny["base"].sha256[:10] and values["Version"] == f"seed-{SEED_VERSION}"
    assert f"<lora:{lora.name}:0.8>" in text.splitlines()[0]


def test_infotext_parsing_refuses_what_it_cannot_read():
    with pytest.raises(ApplicationError, match="empty"):
        infotext_parse("  ")
    with pytest.raises(ApplicationError, match="at most"):
        infotext_parse("x" * (MAX_INFOTEXT + 1))
    parsed = infotext_parse('a "quoted", prompt\nSteps: 20, Sampler: Euler a, Model: "name, with comma", Seed: 5')
    assert parsed.prompt == 'a "quoted", prompt' and parsed.values["Model"] == "name, with comma"
    assert infotext_parse("just a prompt: with a colon").values == {}


def test_a_png_we_made_imports_back_as_the_same_recipe(tiny, run_jobs):
    from django.core.files.base import ContentFile

    from assets.models import Derivation
    from assets.services.recipe_imports import images_import

    brief = make_brief()
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a can, on a roof",
                negative_prompt="blurry",
                loras=[LoraSpec(weights=tiny["lora_a"], weight=0.8)],
                params={**FAST, "seed": 321, "batch_size": 1},
            ),
        )
    made = job.batches.get().derivation
    version = made.generated.get().version
    with blob_open(blob=version.blob) as handle:
        data = handle.read()
    # Another brief, so the same bytes come in as a new version of an outside file.
    [report] = images_import(
        brief=make_brief(client_name="Elsewhere"), sources=[ContentFile(data, name="exported.png")]
    )
    imported = Derivation.objects.get(pk=report["derivation"])
    assert report["generator"] == "automatic1111" and report["missing"] == []
    for key in ("sampler", "steps", "cfg", "seed", "width", "height"):
        assert imported.params[key] == made.params[key], key
    edges = {(edge.role, edge.model_weights_id, edge.weight) for edge in imported.used.exclude(role="prompt")}
    assert edges == {("base_model", tiny["base"].pk, None), ("lora", tiny["lora_a"].pk, 0.8)}
    prompt = imported.used.get(role="prompt").prompt
    assert (prompt.text, prompt.negative_text) == ("a can, on a roof", "blurry")


def test_a_version_exports_as_a_well_formed_comfyui_workflow_that_reads_back_as_its_recipe(tiny, run_jobs):
    from assets.foreign_recipes import _comfyui
    from review.roles import CLIENT_REVIEWER, PRODUCER, roles_ensure
    from tests.factories import api_as, member

    roles_ensure()
    brief = make_brief()
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a can, on a roof",
                negative_prompt="blurry",
                loras=[LoraSpec(weights=tiny["lora_a"], weight=0.8), LoraSpec(weights=tiny["lora_b"], weight=0.3)],
                params={**FAST, "seed": 321, "batch_size": 1},
            ),
        )
    version = job.batches.get().derivation.generated.get().version
    with run_jobs():
        edit = generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="img2img",
                base_model=tiny["base"],
                init=version,
                prompt_text="warmer",
                params={**FAST, "seed": 9, "batch_size": 1, "strength": 0.55},
            ),
        )
    edited = edit.batches.get().derivation.generated.get().version
    producer = member("paula", PRODUCER)
    for made, op in ((version, "txt2img"), (edited, "img2img")):
        response = api_as(producer).get(f"/api/versions/{made.pk}/comfyui/")
        assert response.status_code == 200 and "comfyui_api.json" in response["Content-Disposition"]
        graph = response.json()
        links = [value for node in graph.values() for value in node["inputs"].values() if isinstance(value, list)]
        assert links and all(str(node) in graph and isinstance(output, int) for node, output in links)
        recipe = _comfyui(graph)
        params = made.generated_by.derivation.params
        assert (recipe.params["seed"], recipe.params["steps"], recipe.params["cfg"], recipe.params["sampler"]) == (
            made.seed,
            params["steps"],
            params["cfg"],
            params["sampler"],
        )
        if op == "txt2img":
            assert [(lora.name, lora.weight) for lora in recipe.loras] == [
                (tiny["lora_a"].name, 0.8),
                (tiny["lora_b"].name, 0.3),
            ]
            assert (recipe.prompt, recipe.negative_prompt) == ("a can, on a roof", "blurry")
            assert (recipe.params["width"], recipe.params["height"]) == (FAST["width"], FAST["height"])
        else:
            assert recipe.params["strength"] == 0.55 and any(n["class_type"] == "LoadImage" for n in graph.values())
        assert recipe.model.name == tiny["base"].name
    client = member("cleo", CLIENT_REVIEWER, brief.campaign.client)
    assert api_as(client).get(f"/api/versions/{version.pk}/comfyui/").status_code == 403


def test_an_imported_recipe_regenerates_in_seed_with_a_verdict_or_says_what_is_missing(tiny, run_jobs):
    from django.core.files.base import ContentFile

    from assets.services.recipe_imports import images_import
    from review.roles import PRODUCER, roles_ensure
    from tests.factories import api_as, member

    roles_ensure()
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=make_brief(),
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a can, on a roof",
                loras=[LoraSpec(weights=tiny["lora_a"], weight=0.8)],
                params={**FAST, "seed": 321, "batch_size": 1},
            ),
        )
    with blob_open(blob=job.batches.get().derivation.generated.get().version.blob) as handle:
        data = handle.read()
    brief = make_brief(client_name="Elsewhere")
    with Image.open(io.BytesIO(data)) as image:
        text = (
            image.text["parameters"]
            .replace(tiny["base"].sha256[:10], "0000000000")
            .replace(tiny["base"].name, "other_model")
        )
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", text)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", pnginfo=info)
    unknown = buffer.getvalue()
    reports = images_import(
        brief=brief, sources=[ContentFile(data, name="ours.png"), ContentFile(unknown, name="theirs.png")]
    )
    api = api_as(member("paula", PRODUCER))
    with run_jobs():
        made = api.post(f"/api/versions/{reports[0]['version']}/regenerate-import/")
    assert made.status_code == 201, made.content
    [attempt] = api.get(f"/api/versions/{reports[0]['version']}/regenerate-import/").json()
    # Same recipe, same CPU noise, same worker: the very same bytes, infotext included.
    assert attempt["state"] == "succeeded" and attempt["verdict"] == "bit_identical" and attempt["distance"] == 0.0
    refused = api.post(f"/api/versions/{reports[1]['version']}/regenerate-import/")
    assert refused.status_code == 400 and "base model other_model is not registered" in refused.json()["message"]
    plain = api.post(f"/api/versions/{job.batches.get().derivation.generated.get().version.pk}/regenerate-import/")
    assert plain.status_code == 400 and "not imported with a recipe" in plain.json()["message"]


def test_an_imported_hires_fix_image_regenerates_as_txt2img_with_its_second_pass(tiny, run_jobs):
    from django.core.files.base import ContentFile

    from assets.services.recipe_imports import images_import
    from generation.services.imported import imported_regenerate
    from review.roles import roles_ensure

    roles_ensure()
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=make_brief(),
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a can, on a roof",
                params={**FAST, "seed": 77, "batch_size": 1, "hires_scale": 1.5, "hires_steps": 4, "strength": 0.6},
            ),
        )
    with blob_open(blob=job.batches.get().derivation.generated.get().version.blob) as handle:
        data = handle.read()
    with Image.open(io.BytesIO(data)) as image:
        info = PngImagePlugin.PngInfo()
        info.add_text(
            "parameters", image.text["parameters"].replace("Hires upscaler: Latent", "Hires upscaler: R-ESRGAN 4x+")
        )
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", pnginfo=info)
    brief = make_brief(client_name="Elsewhere")
    reports = images_import(
        brief=brief, sources=[ContentFile(data, name="hires.png"), ContentFile(buffer.getvalue(), name="esrgan.png")]
    )
    imported = Version.objects.get(pk=reports[0]["version"])
    params = imported.generated_by.derivation.params
    assert (params["hires_scale"], params["hires_steps"], params["hires_upscaler"], params["strength"]) == (
        1.5,
        4,
        "latent",
        0.6,
    )
    with run_jobs():
        again = imported_regenerate(version=imported)
    derivation = again.batches.get().derivation
    derivation.refresh_from_db()
    assert derivation.state == "succeeded", derivation.error
    assert derivation.generated.get().version.blob_id == imported.blob_id  # the very same bytes, second pass included
    with pytest.raises(ApplicationError, match=r"hi-res fix upscaler \(R-ESRGAN 4x\+ has no equivalent here\)"):
        imported_regenerate(version=Version.objects.get(pk=reports[1]["version"]))
