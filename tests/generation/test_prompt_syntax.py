"""Prompts as people write them: inline LoRA tags, --ar, A1111's emphasis, BREAK and prompts past 75 tokens."""

import pytest
from PIL import Image

from assets.errors import ApplicationError
from assets.models import Derivation, Phase, Prompt, Used
from assets.prompt_syntax import attention_parse, prompt_directives
from assets.recipes import recipe_of
from assets.services.blobs import blob_open
from assets.services.briefs import reference_create
from assets.services.derivations import UsedInput, derivation_create
from assets.services.prompts import prompt_from_text, prompt_template_create
from generation.models import GenerationJob
from generation.prompt_encoding import CHUNK_TOKENS, prompt_chunks
from generation.reproduce import version_reproduce
from generation.requests import GenerationRequest, LoraSpec
from generation.services.jobs import generation_job_create, generation_job_regenerate
from generation.tasks import run_derivation
from generation.tiny import _tokenizer
from tests.factories import image_file, make_brief
from tests.generation.conftest import FAST

# 120 tokens of the tiny tokenizer (one per character and space) with emphasis, as an A1111 user writes.
LONG_PROMPT = (
    "(a glass bottle of cold brew:1.3), condensation, [matte] label, studio, rim light, "
    "(soft shadow), teal and coral, crisp product focus, editorial photography"
)


def test_a1111_emphasis_is_read_as_a1111_reads_it():
    assert attention_parse("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).") == [
        ("a ", 1.0),
        ("house", pytest.approx(1.573)),
        (" ", 1.1),
        ("on", 1.0),
        (" a ", 1.1),
        ("hill", 0.55),
        (", sun, ", 1.1),
        ("sky", pytest.approx(1.4641)),
        (".", 1.1),
    ]
    assert attention_parse(r"\(literal\] (open") == [("(literal] ", 1.0), ("open", 1.1)]
    assert attention_parse("[less") == [("less", pytest.approx(1 / 1.1))]
    assert attention_parse("left BREAK right") == [("left", 1.0), ("BREAK", -1.0), ("right", 1.0)]


def test_directives_come_out_of_the_text():
    directives = prompt_directives(
        "<lora:FluxPortraitTrainer:1>, a can, rich warm light, 35 mm DSLR, f/2.2 --ar 9:16 <lora:grain>"
    )
    assert directives.text == "a can, rich warm light, 35 mm DSLR, f/2.2"
    assert directives.loras == (("FluxPortraitTrainer", 1.0), ("grain", 1.0)) and directives.aspect == (9, 16)
    for bad, words in (
        ("a --ar 0:16", "not an aspect"),
        ("a --ar 9x16", "not an aspect"),
        ("a --ar 1:1 --ar 2:3", "2 times"),
        ("<lora:x:heavy> a", "not a number"),
        ("<lora::0.5> a", "no name"),
        ("<lora:x:0.5:0.2> a", "separate UNet weight"),
    ):
        with pytest.raises(ApplicationError, match=words):
            prompt_directives(bad)


def test_long_prompts_are_cut_into_75_token_chunks_and_break_starts_a_new_one():
    tokenizer = _tokenizer()
    chunks = prompt_chunks(tokenizer=tokenizer, text=LONG_PROMPT)
    assert len(LONG_PROMPT) > 120 and len(chunks) == 2
    assert all(len(chunk.tokens) == len(chunk.weights) == CHUNK_TOKENS + 2 for chunk in chunks)
    start, end = tokenizer.bos_token_id, tokenizer.eos_token_id
    assert all(chunk.tokens[0] == start and chunk.tokens[-1] == end for chunk in chunks)
    # The first chunk ends at its last comma (within 20 tokens of the limit) rather than mid-phrase.
    comma = tokenizer.get_vocab()[",</w>"]
    first_words = [token for token in chunks[0].tokens[1:] if token != end]
    assert first_words[-1] == comma and len(first_words) < CHUNK_TOKENS
    assert 1.3 in chunks[0].weights and pytest.approx(1 / 1.1) in chunks[0].weights
    assert len(prompt_chunks(tokenizer=tokenizer, text="short BREAK prompt")) == 2
    assert len(prompt_chunks(tokenizer=tokenizer, text="")) == 1


# The size comes from the prompt's --ar or these parameters.
UNSIZED = {key: value for key, value in FAST.items() if key not in ("width", "height")}


def _job(tiny, brief, *, sized=True, **request):
    params = {**(FAST if sized else UNSIZED), "seed": 77, "batch_size": 1, **request.pop("params", {})}
    return generation_job_create(
        request=GenerationRequest(brief=brief, op="txt2img", base_model=tiny["base"], params=params, **request)
    )


def _image(version) -> Image.Image:
    with blob_open(blob=version.blob) as handle, Image.open(handle) as image:
        image.load()
        return image


def _only_output(job: GenerationJob):
    [batch] = job.batches.all()
    return batch.derivation, batch.derivation.generated.get().version


@pytest.mark.django_db
def test_a_template_with_an_inline_lora_and_aspect_generates_with_the_lora_attached(tiny, run_jobs):
    brief = make_brief(aspect="1:1")
    lora = tiny["lora_a"]
    template = prompt_template_create(
        brief=brief,
        name="portrait",
        text=f"<lora:{lora.sha256[:12]}:0.7>, {{subject}}, rich {{lighting adjective}} light, f/2.2 --ar 9:16",
    )
    values = {"subject": "a can", "lighting adjective": "warm"}
    sized_by_aspect = _job(tiny, brief, sized=False, template=template, values_grid=values)
    [batch] = sized_by_aspect.batches.all()
    assert (batch.derivation.params["width"], batch.derivation.params["height"]) == (384, 680)
    # Generated at a size the aspect agrees with, small enough for a test.
    small = {"width": 72, "height": 128}
    with run_jobs():
        tagged = _job(tiny, brief, sized=False, template=template, values_grid=values, params=small)
    derivation, version = _only_output(tagged)
    assert derivation.state == "succeeded", derivation.error
    assert [(edge.model_weights_id, edge.weight) for edge in derivation.used.filter(role=Used.Role.LORA)] == [
        (lora.pk, 0.7)
    ]
    assert derivation.params["prompt_syntax"] == "a1111"
    assert (version.width, version.height) == (72, 128)
    infotext = _image(version).info["parameters"]
    assert infotext.splitlines()[0] == f"a can, rich warm light, f/2.2 <lora:{lora.name}:0.7>"

    # The same text without the tag: the LoRA changed the picture, so it was attached, not read as words.
    plain = prompt_template_create(
        brief=brief, name="no lora", text="{subject}, rich {lighting adjective} light, f/2.2 --ar 9:16"
    )
    with run_jobs():
        untagged = _job(tiny, brief, sized=False, template=plain, values_grid=values, params=small)
    _, other = _only_output(untagged)
    assert other.blob_id != version.blob_id
    assert version_reproduce(version=version).verdict == "bit_identical"


@pytest.mark.django_db
def test_an_a1111_prompt_past_75_tokens_reproduces_and_differs_from_the_truncated_encoding(tiny, run_jobs):
    brief = make_brief()
    with run_jobs():
        a1111 = _job(tiny, brief, prompt_text=LONG_PROMPT, negative_prompt="blurry, (lowres:1.2)")
        truncated = _job(
            tiny,
            brief,
            prompt_text=LONG_PROMPT,
            negative_prompt="blurry, (lowres:1.2)",
            params={"prompt_syntax": "diffusers"},
        )
    (read, version), (cut, other) = _only_output(a1111), _only_output(truncated)
    assert read.params["prompt_syntax"] == "a1111" and cut.params["prompt_syntax"] == "diffusers"
    assert version.blob_id != other.blob_id
    for made in (version, other):
        assert version_reproduce(version=made).verdict == "bit_identical"


@pytest.mark.django_db
def test_xl_reads_chunks_through_both_encoders_and_a_regeneration_keeps_the_syntax(tiny, run_jobs):
    brief = make_brief()
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=tiny["base_xl"],
                prompt_text=LONG_PROMPT + " BREAK (glow:1.4)",
                params={**FAST, "seed": 3, "batch_size": 1},
            )
        )
    derivation, version = _only_output(job)
    assert derivation.state == "succeeded", derivation.error
    assert version_reproduce(version=version).verdict == "bit_identical"
    with run_jobs():
        again = generation_job_regenerate(version=version, params={"steps": 3})
    regenerated, _ = _only_output(again)
    assert regenerated.params["prompt_syntax"] == "a1111" and regenerated.state == "succeeded"


@pytest.mark.django_db
def test_a_recipe_from_before_prompt_syntax_was_recorded_still_reads_its_text_as_diffusers_did(tiny):
    brief = make_brief()
    text = "(a can:1.5) <lora:unregistered:1>"
    legacy = derivation_create(
        brief=brief,
        op="txt2img",
        phase=Phase.IDEATION,
        params={**FAST, "seed": 5, "batch_size": 1},
        inputs=[
            UsedInput(role=Used.Role.PROMPT, target=prompt_from_text(brief=brief, text=text)),
            UsedInput(role=Used.Role.BASE_MODEL, target=tiny["base"]),
        ],
    )
    recipe = recipe_of(derivation=legacy)
    assert (recipe.prompt_syntax, recipe.prompt_text) == ("diffusers", text)
    run_derivation(legacy.pk)
    legacy.refresh_from_db()
    assert legacy.state == "succeeded", legacy.error
    version = legacy.generated.get().version
    assert _image(version).info["parameters"].startswith(text + "\n")
    assert version_reproduce(version=version).verdict == "bit_identical"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "negative", "params", "words"),
    [
        ("a can <lora:nobody-registered-this:0.5>", None, {}, "names no registered LoRA"),
        ("a can --ar 9:16", None, {}, "ask for different sizes"),
        ("a can", "<lora:x:1> blurry", {}, "not the negative prompt"),
        ("a can <lora:x:much>", None, {}, "not a number"),
        ("a can", None, {"prompt_syntax": "comfy"}, "prompt_syntax"),
    ],
)
def test_a_prompt_that_cannot_be_read_is_refused_with_nothing_written(tiny, text, negative, params, words):
    brief = make_brief()
    before = (GenerationJob.objects.count(), Derivation.objects.count(), Prompt.objects.count())
    with pytest.raises(ApplicationError, match=words):
        _job(tiny, brief, prompt_text=text, negative_prompt=negative, params=params)
    assert (GenerationJob.objects.count(), Derivation.objects.count(), Prompt.objects.count()) == before


@pytest.mark.django_db
def test_a_tag_for_a_lora_given_in_the_request_keeps_the_requests_weight_and_an_img2img_refuses_an_aspect(
    tiny, run_jobs
):
    brief = make_brief()
    lora = tiny["lora_b"]
    job = _job(
        tiny,
        brief,
        prompt_text=f"a can <lora:{lora.sha256}:1.5>",
        loras=(LoraSpec(weights=lora, weight=0.4),),
    )
    [batch] = job.batches.all()
    assert list(batch.derivation.used.filter(role=Used.Role.LORA).values_list("weight", flat=True)) == [0.4]
    with pytest.raises(ApplicationError, match="keeps its init image's size"):
        generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="img2img",
                base_model=tiny["base"],
                init=reference_create(brief=brief, source=image_file("ref.png"), title="ref"),
                prompt_text="warmer --ar 1:1",
                params={**FAST, "batch_size": 1},
            )
        )


@pytest.mark.django_db
def test_a_prompt_too_long_to_encode_is_refused_or_fails_with_its_reason(tiny, run_jobs):
    brief = make_brief()
    with pytest.raises(ApplicationError, match="at most 8000 are read"):
        _job(tiny, brief, prompt_text="a can " * 1400)
    with run_jobs():
        job = _job(tiny, brief, prompt_text=" BREAK ".join(["a can"] * 25))
    [batch] = job.batches.all()
    batch.derivation.refresh_from_db()
    assert batch.derivation.state == "failed" and "25 chunks of 75 tokens; at most 20" in batch.derivation.error


@pytest.mark.django_db
def test_a_size_an_aspect_once_set_is_taken_again_and_the_read_text_is_recorded(tiny):
    brief = make_brief()
    # SD 1.5 at 3:4 rounds each side on its own to 440x592: a regeneration repeats exactly that.
    job = _job(tiny, brief, sized=False, prompt_text="a can, --ar 3:4", params={"width": 440, "height": 592})
    params = job.batches.get().derivation.params
    assert (params["width"], params["height"], params["prompt_read"]) == (440, 592, "a can")
    with pytest.raises(ApplicationError, match="ask for different sizes"):
        _job(tiny, brief, sized=False, prompt_text="a can --ar 3:4", params={"width": 440, "height": 440})
    with pytest.raises(ApplicationError, match="prompt_read is what Seed records"):
        _job(tiny, brief, prompt_text="a can", params={"prompt_read": "something else"})
    plain = _job(tiny, brief, prompt_text="a can, at dusk").batches.get().derivation.params
    assert "prompt_read" not in plain


@pytest.mark.django_db
def test_a_tag_for_a_lora_the_request_already_holds_is_that_lora_even_if_its_name_is_taken_again(tiny):
    from assets.models import ModelWeights

    brief = make_brief()
    lora_a, lora_b = tiny["lora_a"], tiny["lora_b"]
    ModelWeights.objects.filter(pk=lora_b.pk).update(name=lora_a.name)
    tagged = f"a can <lora:{lora_a.name}:0.5>"
    job = _job(tiny, brief, prompt_text=tagged, loras=(LoraSpec(weights=lora_a, weight=0.5),))
    used = job.batches.get().derivation.used.filter(role=Used.Role.LORA)
    assert list(used.values_list("model_weights", flat=True)) == [lora_a.pk]
    with pytest.raises(ApplicationError, match="matches several registered LoRAs"):
        _job(tiny, brief, prompt_text=tagged)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a (can:" + "9" * 400 + ")", "comes to inf"),
        ("a (can:150)", "comes to 150"),
        (" ".join(f"<lora:l{index}>" for index in range(17)) + " a can", "at most 16 are attached"),
    ],
)
def test_emphasis_no_picture_survives_and_too_many_tags_are_refused(tiny, text, words):
    with pytest.raises(ApplicationError, match=words):
        _job(tiny, make_brief(), prompt_text=text)


@pytest.mark.django_db
def test_a_recipe_from_another_tool_reads_directive_lookalikes_as_words(tiny):
    job = generation_job_create(
        request=GenerationRequest(
            brief=make_brief(),
            op="txt2img",
            base_model=tiny["base"],
            prompt_text="a cat --ar 16:9 <lora:not-registered:1>",
            params={**FAST, "batch_size": 1},
            directives=False,
        )
    )
    derivation = job.batches.get().derivation
    assert derivation.params["prompt_read"] == "a cat --ar 16:9 <lora:not-registered:1>"
    assert (derivation.params["width"], derivation.params["height"]) == (64, 64)
    assert not derivation.used.filter(role=Used.Role.LORA).exists()
    assert prompt_directives("cat --ar 16:9, masterpiece").text == "cat, masterpiece"
    assert attention_parse("x  BREAK  y") == [("x", 1.0), ("BREAK", -1.0), ("y", 1.0)]
