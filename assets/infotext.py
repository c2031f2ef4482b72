"""AUTOMATIC1111's "infotext" (PNG `parameters`, JPEG/WebP EXIF UserComment), read as A1111 reads it.

The last line holds `Key: value` pairs separated by commas, a value quoted as JSON when it holds a separator;
the lines above are the prompt, then `Negative prompt: …`. LoRAs appear as `<lora:NAME:WEIGHT>` tags in the
prompt and, with their short hashes, in `Lora hashes: "NAME: HASH, …"`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from assets.errors import ApplicationError
from assets.prompt_syntax import LORA_TAG, lora_tags

MAX_INFOTEXT = 64 * 1024
# Our sampler names, as A1111 writes them: (sampler, schedule type).
A1111_NAMES = {
    "dpmpp_2m_karras": ("DPM++ 2M", "Karras"),
    "dpmpp_2m": ("DPM++ 2M", "Automatic"),
    "dpmpp_sde_karras": ("DPM++ SDE", "Karras"),
    "euler_a": ("Euler a", "Automatic"),
    "euler": ("Euler", "Automatic"),
    "ddim": ("DDIM", "Automatic"),
    "pndm": ("PLMS", "Automatic"),
    "lms": ("LMS", "Automatic"),
    "heun": ("Heun", "Automatic"),
    "flow_euler": ("Euler", "Simple"),
}
# A pair starts the line or follows the comma the previous one ended with: anchored there, a long line that is no
# settings line is scanned once, not once per character.
_PAIR = re.compile(r'(?:^|(?<=,))\s*([\w][\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


@dataclass
class Infotext:
    prompt: str
    negative_prompt: str
    values: dict[str, str]
    loras: list[tuple[str, float]] = field(default_factory=list)  # (name, weight) from the prompt's tags
    lora_hashes: dict[str, str] = field(default_factory=dict)  # name -> short hash


def infotext_parse(text: str) -> Infotext:
    """The prompt (LoRA tags taken out), negative prompt and every `Key: value` of an A1111 parameters text."""
    if not isinstance(text, str) or not text.strip():
        raise ApplicationError("the parameters text is empty")
    if len(text) > MAX_INFOTEXT:
        raise ApplicationError(f"the parameters text is {len(text)} characters; at most {MAX_INFOTEXT} are read")
    lines = text.strip().split("\n")
    values: dict[str, str] = {}
    last = lines[-1]
    pairs = list(_PAIR.finditer(last))
    if len(pairs) >= 3:  # A1111 itself treats a last line with fewer pairs as part of the prompt
        lines = lines[:-1]
        for match in pairs:
            key, value = match.group(1).strip(), match.group(2).strip()
            if value.startswith('"') and value.endswith('"'):
                try:
                    value = json.loads(value)
                except ValueError:
                    value = value[1:-1]
            values[key] = value
    prompt_lines, negative_lines, negative = [], [], False
    for line in lines:
        if line.startswith("Negative prompt:"):
            negative = True
            line = line[len("Negative prompt:") :].strip()
        (negative_lines if negative else prompt_lines).append(line)
    prompt = "\n".join(prompt_lines).strip()
    loras = lora_tags(prompt, strict=False)
    prompt = re.sub(r"(?<!\s)\s*" + LORA_TAG.pattern, "", prompt).strip()
    hashes = {}
    for item in values.get("Lora hashes", "").split(","):
        name, _, short = item.rpartition(":")
        if name.strip() and short.strip():
            hashes[name.strip()] = short.strip().lower()
    return Infotext(
        prompt=prompt, negative_prompt="\n".join(negative_lines).strip(), values=values, loras=loras, lora_hashes=hashes
    )
