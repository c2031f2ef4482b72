import re
import unicodedata

from django.core.exceptions import ValidationError

HEX_COLOUR = re.compile(r"^#[0-9A-F]{6}$")
ASPECT = re.compile(r"^([1-9][0-9]{0,3}):([1-9][0-9]{0,3})$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Linux's PATH_MAX and NAME_MAX, in UTF-8 bytes: longer names fail to open anyway, after some were written.
MAX_FILE_NAME_BYTES = 1024
MAX_SEGMENT_BYTES = 255


def validate_hex_colour(value: str) -> None:
    if not HEX_COLOUR.match(value):
        raise ValidationError(f"{value!r} is not a colour like #FE2C54 (upper-case hex, 6 digits)")


def validate_aspect(value: str) -> None:
    if not ASPECT.match(value):
        raise ValidationError(f"{value!r} is not an aspect ratio like 9:16")


def validate_sha256(value: str) -> None:
    if not SHA256.match(value):
        raise ValidationError(f"{value!r} is not a lower-case hex sha256")


def _file_name_problem(value) -> str | None:
    if not isinstance(value, str) or not value:
        return "is empty or not text"
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        return "holds a control character or a lone surrogate"
    if len(value.encode()) > MAX_FILE_NAME_BYTES:
        return f"is longer than {MAX_FILE_NAME_BYTES} bytes"
    if value[0] in "/\\":
        return "is absolute"
    if "\\" in value:
        return "holds a backslash (separators are '/')"
    if ":" in value:
        return "holds a colon (a drive letter or stream name)"
    for segment in value.split("/"):
        if not segment:
            return "has an empty segment"
        if segment.startswith("."):
            return f"has the segment {segment[:40]!r} (no '..', '.' or hidden files and folders)"
        if len(segment.encode()) > MAX_SEGMENT_BYTES:
            return f"has a segment longer than {MAX_SEGMENT_BYTES} bytes"
    return None


def validate_relative_file_name(value: str) -> None:
    """A model's file name becomes a path under a folder of ours (the worker's layout of links), whoever wrote it.

    Only a plain relative POSIX name can stay inside that folder on every system, so anything else is
    refused rather than cleaned up: a name we rewrote would no longer match the files' sha256 manifest.
    """
    problem = _file_name_problem(value)
    if problem:
        raise ValidationError(f"file name {value!r:.120} {problem}")
