import pytest

from assets.errors import ApplicationError
from assets.models import Prompt
from assets.services.prompts import prompt_render, prompt_template_create, template_placeholders
from tests.factories import make_brief

pytestmark = pytest.mark.django_db


def test_placeholders_are_parsed_with_spaces_and_literal_braces():
    text = "{subject} doing {camera action} in {lighting adjective} light {{not a slot}} {subject}"
    assert template_placeholders(text=text) == ["subject", "camera action", "lighting adjective"]


def test_render_fills_every_placeholder_and_keeps_literal_braces():
    brief = make_brief()
    template = prompt_template_create(brief=brief, name="hero", text="{subject}, {camera action} {{logo}}")
    prompt = prompt_render(template=template, values={"subject": "a can", "camera action": "dolly in"})
    assert prompt.text == "a can, dolly in {logo}"
    assert prompt.negative_text == brief.negative_prompt == "text, watermark, extra limbs, mushy face"
    assert prompt.values == {"subject": "a can", "camera action": "dolly in"}


def test_same_render_is_one_prompt_row():
    template = prompt_template_create(brief=make_brief(), name="hero", text="{subject}")
    first = prompt_render(template=template, values={"subject": "a can"})
    second = prompt_render(template=template, values={"subject": "a can"})
    assert first.pk == second.pk
    assert Prompt.objects.count() == 1


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"subject": "a can"}, "missing value for {camera action}"),
        ({"subject": "a can", "camera action": "pan", "mood": "x"}, "unknown placeholder {mood}"),
        ({"subject": "a can", "camera action": "   "}, "must be non-empty"),
    ],
)
def test_render_refuses_missing_unknown_and_empty_values(values, message):
    template = prompt_template_create(brief=make_brief(), name="hero", text="{subject} {camera action}")
    with pytest.raises(ApplicationError, match=message.replace("{", r"\{").replace("}", r"\}")):
        prompt_render(template=template, values=values)
    assert not Prompt.objects.exists()


@pytest.mark.parametrize("text", ["a {subject", "a subject}", "a {} b", "{bad$name}"])
def test_template_with_stray_braces_or_bad_names_is_refused(text):
    with pytest.raises(ApplicationError):
        prompt_template_create(brief=make_brief(), name="broken", text=text)
