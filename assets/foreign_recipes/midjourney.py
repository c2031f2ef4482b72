"""Midjourney: a download carries the prompt as it was typed, its parameters and `Job ID: <uuid>` in the image's
description (PNG `Description`, EXIF ImageDescription, XMP dc:description) and the user in its author (PNG `Author`,
EXIF Artist, XMP dc:creator). Midjourney's models run only on its own servers: the recipe is kept as a record of how
the image was made, never as one Seed can run again.
"""

from __future__ import annotations

import re

from PIL import Image

from assets.errors import ApplicationError
from assets.foreign_recipes.recipe import ForeignRecipe
from assets.operations import text_storable
from assets.xmp import xmp_parse

NOT_REPRODUCIBLE = "Midjourney's models run only on Midjourney's servers; its recipe is a record, not one Seed can run"
# Searched on the description's last 200 characters only: a leading or trailing run of blanks in an unbounded text
# would make the search quadratic (a 2 MB PNG description of spaces, hours of CPU).
JOB_ID = re.compile(r"Job ID:[ \t]*([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\Z", re.IGNORECASE)
JOB_ID_TAIL = 200
# Phones turn a typed "--" into an em dash, and Midjourney reads both.
FLAG = re.compile(r"(?:^|\s)(?:--|\u2014)([A-Za-z][\w-]*)")
IMAGE_PROMPT = re.compile(r"https?://\S+")
# Long enough for any seed or weight, short enough that no value becomes an infinite float.
NUMBER = re.compile(r"-?(?:\d{1,15}(?:\.\d{1,15})?|\.\d{1,15})")
# Several spellings of one parameter, as Midjourney's documentation gives them.
ALIASES = {
    "ar": "aspect",
    "v": "version",
    "s": "stylize",
    "c": "chaos",
    "q": "quality",
    "w": "weird",
    "r": "repeat",
    "p": "personalize",
    "profile": "personalize",
}
# Parameters that take several URLs or codes, separated by spaces.
LISTS = ("sref", "cref", "oref", "personalize")
# Model versions are names ("6.1", "5.2"), not quantities.
NAMES = ("version", "niji")
XMP_NAMESPACES = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
}


def _job_id(description: str) -> re.Match | None:
    """The `Job ID: <uuid>` that ends a Midjourney description, searched in its tail only."""
    body = description.rstrip()
    return JOB_ID.search(body, max(0, len(body) - JOB_ID_TAIL))


def midjourney_metadata(image: Image.Image) -> dict[str, str]:
    """{"Description", "Author"} of a Midjourney download (PNG text, EXIF, else XMP), or {} when its description
    holds no Midjourney job id."""
    text = getattr(image, "text", None) or {}
    exif = image.getexif()
    xmp = _xmp_fields(image)
    descriptions = (text.get("Description"), _exif_text(exif.get(0x010E)), xmp.get("description"))
    description = next((found for found in descriptions if found and _job_id(found)), None)
    if description is None:
        return {}
    author = text.get("Author") or _exif_text(exif.get(0x013B)) or xmp.get("creator", "")
    return {"Description": description, **({"Author": author} if author else {})}


def _exif_text(value) -> str:
    """An EXIF text as written: Pillow decodes EXIF's ASCII fields as Latin-1, and Midjourney writes UTF-8 there."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str):
        return ""
    try:
        return value.encode("latin-1").decode("utf-8").strip("\x00")
    except UnicodeError:
        return value.strip("\x00")


def _xmp_fields(image: Image.Image) -> dict[str, str]:
    """dc:description and dc:creator of the image's XMP packet."""
    root = xmp_parse(image.info.get("xmp") or image.info.get("XML:com.adobe.xmp"))
    if root is None:
        return {}
    fields = {}
    for name in ("description", "creator"):
        element = root.find(f".//dc:{name}", XMP_NAMESPACES)
        item = element.find(".//rdf:li", XMP_NAMESPACES) if element is not None else None
        if item is not None and item.text:
            fields[name] = item.text.strip()
    return fields


def _midjourney(metadata: dict[str, str]) -> ForeignRecipe:
    description = metadata["Description"]
    if not all(text_storable(value) for value in metadata.values()):
        raise ApplicationError(
            "the Midjourney description holds a character text cannot carry (NUL or a lone surrogate)",
            extra={"code": "metadata_unreadable"},
        )
    job = _job_id(description)
    text = description[: job.start()].strip()
    first = FLAG.search(text)
    prompt = text[: first.start()].strip() if first else text
    image_prompts = []
    while (found := IMAGE_PROMPT.match(prompt)) is not None:
        image_prompts.append(found.group())
        prompt = prompt[found.end() :].lstrip()
    options = _options(text[first.start() :] if first else "")
    if image_prompts:
        options["image_prompts"] = image_prompts
    params = {"job_id": job.group(1).lower(), "options": options}
    if metadata.get("Author"):
        params["author"] = metadata["Author"][:200]
    negative = options.get("no")
    return ForeignRecipe(
        generator="midjourney",
        prompt=prompt,
        negative_prompt=negative if isinstance(negative, str) else "",
        params=params,
        not_reproducible=NOT_REPRODUCIBLE,
    )


def _options(text: str) -> dict:
    """Every `--name value` as written, under Midjourney's long names; unknown parameters are kept too."""
    options: dict = {}
    flags = list(FLAG.finditer(text))
    for flag, following in zip(flags, [*flags[1:], None], strict=True):
        name = flag.group(1).lower()
        name = ALIASES.get(name, name)
        value = text[flag.end() : following.start() if following else len(text)].strip()
        if name in LISTS:
            earlier = options.get(name)
            options[name] = [*(earlier if isinstance(earlier, list) else []), *value.split()] if value else True
        elif not value:
            options[name] = True
        elif name not in NAMES and NUMBER.fullmatch(value):
            options[name] = float(value) if "." in value else int(value)
        else:
            options[name] = value
    return options
