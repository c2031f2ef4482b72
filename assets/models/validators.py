import re

from django.core.exceptions import ValidationError

HEX_COLOUR = re.compile(r"^#[0-9A-F]{6}$")
ASPECT = re.compile(r"^([1-9][0-9]{0,3}):([1-9][0-9]{0,3})$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def validate_hex_colour(value: str) -> None:
    if not HEX_COLOUR.match(value):
        raise ValidationError(f"{value!r} is not a colour like #FE2C54 (upper-case hex, 6 digits)")


def validate_aspect(value: str) -> None:
    if not ASPECT.match(value):
        raise ValidationError(f"{value!r} is not an aspect ratio like 9:16")


def validate_sha256(value: str) -> None:
    if not SHA256.match(value):
        raise ValidationError(f"{value!r} is not a lower-case hex sha256")
