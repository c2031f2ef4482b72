"""Prompts as people write them in A1111, Forge and Midjourney-style templates, read in one place.

A prompt may carry directives that are not text for the encoder: `<lora:NAME:WEIGHT>` attaches a LoRA and
`--ar W:H` sets the aspect. What remains is the text, which A1111's syntax weights: `(word)` by 1.1, `[word]` by
1/1.1, `(word:1.3)` by 1.3, `\\(` for a literal bracket, and `BREAK` to start a new 75-token chunk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assets.errors import ApplicationError

# How a recipe's text was encoded. Recipes made before prompt syntax was recorded went through diffusers' own encoding
# (one 77-token window, brackets and tags as plain text) and reproduce that way. "plain" takes the directives out and
# hands the rest to the encoders as written (FLUX's T5 reads brackets as text); "a1111" also reads emphasis and BREAK.
SYNTAX_DIFFUSERS = "diffusers"
SYNTAX_PLAIN = "plain"
SYNTAX_A1111 = "a1111"
PROMPT_SYNTAXES = (SYNTAX_DIFFUSERS, SYNTAX_PLAIN, SYNTAX_A1111)

LORA_TAG = re.compile(r"<lora:([^<>]*)>")
_WEIGHT = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
# "--ar 16:9, masterpiece": a comma after the value ends the item, not the aspect.
ASPECT_FLAG = re.compile(r"(?<!\S)--(?:ar|aspect)\s+([^\s,]+)")
_ASPECT_VALUE = re.compile(r"(\d{1,4}):(\d{1,4})")
LORA_TAG_DEFAULT_WEIGHT = 1.0  # A1111's weight for a tag written without one
MAX_ASPECT_SIDE = 32
ROUND_BRACKET = 1.1
SQUARE_BRACKET = 1 / 1.1
BREAK = "BREAK"

_ATTENTION = re.compile(
    r"\\[()\[\]\\]|\\|\(|\[|:\s*([+-]?(?:\d+\.?\d*|\.\d+))\s*\)|\)|]|[^\\()\[\]:]+|:",
)
_BREAK_WORD = re.compile(r"\bBREAK\b")
# Past this an emphasis is no longer a weight but a broken picture (and past float's range, no number at all).
MAX_EMPHASIS = 100.0


@dataclass(frozen=True)
class PromptDirectives:
    """What a prompt asks for besides its text: LoRAs as (name, weight) in order, an aspect (w, h), and the text the
    encoder reads with the directives taken out."""

    text: str
    loras: tuple[tuple[str, float], ...] = ()
    aspect: tuple[int, int] | None = None


def prompt_directives(text: str) -> PromptDirectives:
    """Take `<lora:…>` tags and `--ar W:H` out of a prompt; a malformed aspect or a second one is refused."""
    loras = tuple(lora_tags(text, strict=True))
    aspects = ASPECT_FLAG.findall(text)
    if len(aspects) > 1:
        raise ApplicationError(f"the prompt sets the aspect {len(aspects)} times (--ar {', --ar '.join(aspects)})")
    aspect = None
    if aspects:
        match = _ASPECT_VALUE.fullmatch(aspects[0])
        if match is None or not all(0 < int(side) <= MAX_ASPECT_SIDE for side in match.groups()):
            raise ApplicationError(
                f"--ar {aspects[0]} is not an aspect: write width:height in whole numbers from 1 to {MAX_ASPECT_SIDE}, "
                "such as --ar 9:16",
                extra={"code": "aspect_invalid"},
            )
        aspect = (int(match.group(1)), int(match.group(2)))
    if not loras and aspect is None:
        return PromptDirectives(text=text)
    return PromptDirectives(text=_tidy(ASPECT_FLAG.sub(" ", LORA_TAG.sub(" ", text))), loras=loras, aspect=aspect)


def lora_tags(text: str, *, strict: bool) -> list[tuple[str, float]]:
    """The (name, weight) of each `<lora:NAME>` / `<lora:NAME:WEIGHT>` tag, in order.

    Strict (a prompt of ours), a tag without a name, with a weight that is no number, or with A1111's separate UNet
    weight is refused; lenient (another tool's metadata being read), such a tag keeps its first readable weight.
    """
    found = []
    for match in LORA_TAG.finditer(text):
        name, *weights = (part.strip() for part in match.group(1).split(":"))
        weight = weights[0] if weights else ""
        problem = (
            "it has no name"
            if not name
            else f"its weight {weight!r} is not a number"
            if weights and not _WEIGHT.fullmatch(weight)
            else "a separate UNet weight is not supported: give one weight"
            if len(weights) > 1
            else None
        )
        if problem is not None:
            if strict:
                tag = match.group(0)
                raise ApplicationError(f"LoRA tag {tag} cannot be read: {problem}", extra={"tag": tag})
            if not name or (weights and not _WEIGHT.fullmatch(weight)):
                continue
        found.append((name, float(weight) if weights else LORA_TAG_DEFAULT_WEIGHT))
    return found


def attention_check(text: str) -> None:
    """Refuse emphasis that no picture can be made with: a weight out of float's range or beyond MAX_EMPHASIS."""
    for fragment, weight in attention_parse(text):
        if fragment != BREAK and not -MAX_EMPHASIS <= weight <= MAX_EMPHASIS:
            raise ApplicationError(
                f"the emphasis on {fragment[:40]!r} comes to {weight:g}; weights go from {-MAX_EMPHASIS:g} to "
                f"{MAX_EMPHASIS:g}",
                extra={"code": "emphasis_out_of_range"},
            )


def _tidy(text: str) -> str:
    """The text around removed directives, without the blanks and empty comma-separated items they leave (each pattern
    anchored so a long run of blanks is scanned once)."""
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r",(?:\s*,)+", ",", text)
    text = re.sub(r"(?<!\s)\s+,", ",", text)
    return "\n".join(line.strip(" ,\t") for line in text.split("\n")).strip()


def prompt_has_directives(text: str) -> bool:
    return bool(LORA_TAG.search(text) or ASPECT_FLAG.search(text))


def attention_parse(text: str) -> list[tuple[str, float]]:
    """The prompt as (fragment, weight) pairs, A1111's reading of its emphasis: brackets multiply the weight of what
    they enclose, an unclosed bracket runs to the end, neighbours of equal weight merge, and each BREAK is its own
    (BREAK, -1) item."""
    pieces: list[list] = []
    rounds: list[int] = []
    squares: list[int] = []

    def multiply(start: int, factor: float) -> None:
        for piece in pieces[start:]:
            piece[1] *= factor

    for match in _ATTENTION.finditer(text):
        token, weight = match.group(0), match.group(1)
        if token.startswith("\\"):
            pieces.append([token[1:], 1.0])
        elif token == "(":
            rounds.append(len(pieces))
        elif token == "[":
            squares.append(len(pieces))
        elif weight is not None and rounds:
            multiply(rounds.pop(), float(weight))
        elif token == ")" and rounds:
            multiply(rounds.pop(), ROUND_BRACKET)
        elif token == "]" and squares:
            multiply(squares.pop(), SQUARE_BRACKET)
        else:
            parts = _BREAK_WORD.split(token)
            for index, part in enumerate(parts):
                if index:
                    pieces.append([BREAK, -1.0])
                # The blanks around a BREAK go with it, as A1111 splits them off.
                pieces.append([part.lstrip() if index else part, 1.0])
                if index < len(parts) - 1:
                    pieces[-1][0] = pieces[-1][0].rstrip()
    for start in rounds:
        multiply(start, ROUND_BRACKET)
    for start in squares:
        multiply(start, SQUARE_BRACKET)
    if not pieces:
        return [("", 1.0)]
    merged = [pieces[0]]
    for piece in pieces[1:]:
        if piece[1] == merged[-1][1] and piece[0] != BREAK:
            merged[-1][0] += piece[0]
        else:
            merged.append(piece)
    return [(fragment, weight) for fragment, weight in merged]
