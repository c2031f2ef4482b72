from __future__ import annotations

import hashlib
import json
import re

from django.db import IntegrityError, transaction

from assets.errors import ApplicationError
from assets.models import Brief, Prompt, PromptTemplate
from assets.operations import text_storable
from assets.services.validation import instance_validate

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_PLACEHOLDER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _\-]{0,99}$")


def _tokens(text: str):
    """Yield (literal, placeholder-or-None) pairs, refusing stray braces with their position."""
    position = 0
    for match in _TOKEN.finditer(text):
        literal = text[position : match.start()]
        token = match.group(0)
        position = match.end()
        if token == "{{":
            yield literal + "{", None
        elif token == "}}":
            yield literal + "}", None
        elif match.group(1) is not None:
            name = match.group(1).strip()
            if not _PLACEHOLDER_NAME.match(name):
                raise ApplicationError(
                    f"placeholder {{{match.group(1)}}} at character {match.start()} is not a valid name "
                    "(letters, digits, spaces, '_' or '-')",
                    extra={"position": match.start()},
                )
            yield literal, name
        else:
            raise ApplicationError(
                f"unmatched {token!r} at character {match.start()}; write {token * 2} for a literal brace",
                extra={"position": match.start()},
            )
    yield text[position:], None


def template_placeholders(*, text: str) -> list[str]:
    names = [name for _, name in _tokens(text) if name is not None]
    return list(dict.fromkeys(names))


def _render(text: str, values: dict[str, str]) -> str:
    return "".join(literal + (values[name] if name is not None else "") for literal, name in _tokens(text))


def prompt_template_create(
    *, brief: Brief, name: str, text: str, negative_text: str | None = None, created_by=None
) -> PromptTemplate:
    negative = brief.negative_prompt if negative_text is None else negative_text
    placeholders = list(dict.fromkeys(template_placeholders(text=text) + template_placeholders(text=negative)))
    template = PromptTemplate(
        brief=brief,
        name=name.strip(),
        text=text,
        negative_text=negative,
        placeholders=placeholders,
        created_by=created_by,
    )
    instance_validate(instance=template)
    template.save()
    return template


def prompt_render_text(*, template: PromptTemplate, values: dict[str, str]) -> tuple[dict, str, str]:
    """The values as recorded (trimmed) and the template's text and negative text rendered with them; writes nothing."""
    if not isinstance(values, dict):
        raise ApplicationError("placeholder values must be an object of name: text")
    expected = set(template.placeholders)
    missing = sorted(expected - set(values))
    unknown = sorted(set(values) - expected)
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing value for {', '.join('{' + name + '}' for name in missing)}")
        if unknown:
            problems.append(f"unknown placeholder {', '.join('{' + name + '}' for name in unknown)}")
        raise ApplicationError(
            f"cannot render template {template.name!r}: {'; '.join(problems)}",
            extra={"missing": missing, "unknown": unknown, "placeholders": template.placeholders},
        )
    for name, value in values.items():
        if not isinstance(value, str) or not value.strip():
            raise ApplicationError(f"value for {{{name}}} must be non-empty text", extra={"placeholder": name})
        if not text_storable(value):
            raise ApplicationError(
                f"value for {{{name}}} holds a character text cannot keep (NUL or an unpaired surrogate)",
                extra={"placeholder": name},
            )
    clean = {name: values[name].strip() for name in template.placeholders}
    return clean, _render(template.text, clean), _render(template.negative_text, clean)


def prompt_render(*, template: PromptTemplate, values: dict[str, str]) -> Prompt:
    """Render a template into a Prompt entity; the same render of the same template is one row."""
    clean, text, negative = prompt_render_text(template=template, values=values)
    digest = hashlib.sha256(
        json.dumps(
            {"template": template.pk, "text": text, "negative": negative, "values": clean}, sort_keys=True
        ).encode()
    ).hexdigest()
    try:
        with transaction.atomic():
            prompt, _ = Prompt.objects.get_or_create(
                brief=template.brief,
                digest=digest,
                defaults={"template": template, "text": text, "negative_text": negative, "values": clean},
            )
    except IntegrityError:
        prompt = Prompt.objects.get(brief=template.brief, digest=digest)
    return prompt


def prompt_from_text(*, brief: Brief, text: str, negative_text: str | None = None) -> Prompt:
    """A prompt typed directly, with no template; the same text is one row per brief."""
    text = text.strip()
    if not text:
        raise ApplicationError("the prompt is empty")
    negative = brief.negative_prompt if negative_text is None else negative_text
    digest = hashlib.sha256(
        json.dumps({"template": None, "text": text, "negative": negative}, sort_keys=True).encode()
    ).hexdigest()
    try:
        with transaction.atomic():
            prompt, _ = Prompt.objects.get_or_create(
                brief=brief, digest=digest, defaults={"text": text, "negative_text": negative, "values": {}}
            )
    except IntegrityError:
        prompt = Prompt.objects.get(brief=brief, digest=digest)
    return prompt
