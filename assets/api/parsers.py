"""Request parsing that answers hostile bodies with a 400: multipart forms with hostile file names (refused, not
silently rewritten) and JSON nested deeper than any request of ours needs."""

import html
import json

from django.core.exceptions import TooManyFieldsSent, TooManyFilesSent
from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.http.multipartparser import MultiPartParserError
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import DataAndFiles, MultiPartParser, get_encoding

from assets.errors import ApplicationError
from assets.images import file_name_check

# Our deepest honest body (composite layers with masks and points) is a handful of levels; past this, serialisers and
# the JSON columns that store parts of it recurse through it too, and a deep enough body exhausts the stack there.
MAX_JSON_DEPTH = 32


def _constant_refuse(name: str):
    raise ValueError(f"{name} is not valid JSON")


def json_body_load(*, raw: bytes | str, what: str = "the request body"):
    """A request body (or `what` else holds JSON) as JSON, or ApplicationError: malformed, NaN/Infinity (Postgres
    refuses them), or nested so deep that the decoder runs out of stack (RecursionError, which would otherwise be a
    500) or what reads it next would."""
    too_deep = f"{what} nests deeper than {MAX_JSON_DEPTH} levels"
    try:
        data = json.loads(raw, parse_constant=_constant_refuse)
    except RecursionError:
        raise ApplicationError(too_deep, extra={"code": "json_depth"}) from None
    except ValueError as exc:  # UnicodeDecodeError included
        raise ApplicationError(f"{what} is not valid JSON: {exc}", extra={"code": "json"}) from None
    level = [data]
    for _ in range(MAX_JSON_DEPTH + 1):
        level = [
            child
            for item in level
            if isinstance(item, (dict, list))
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return data
    raise ApplicationError(too_deep, extra={"code": "json_depth"})


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser reading through json_body_load, so the API and the guest pages refuse the same bodies."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return json_body_load(raw=stream.read().decode(get_encoding(parser_context or {})))
        except UnicodeDecodeError:
            raise ParseError("the request body is not text in its declared charset") from None
        except ApplicationError as exc:
            raise ParseError(exc.message) from None


class _NameCheckingParser(DjangoMultiPartParser):
    def sanitize_file_name(self, file_name):
        try:
            file_name_check(name=html.unescape(file_name))
        except ApplicationError as exc:
            raise MultiPartParserError(exc.message) from exc
        return super().sanitize_file_name(file_name)


class StrictMultiPartParser(MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        request = parser_context["request"]
        meta = request.META.copy()
        meta["CONTENT_TYPE"] = media_type
        # DRF refuses bytes-to-bytes charsets (bz2_codec …) that would inflate the body after its size check.
        encoding = get_encoding(parser_context)
        try:
            data, files = _NameCheckingParser(meta, stream, request.upload_handlers, encoding).parse()
        except MultiPartParserError as exc:
            raise ParseError(f"the multipart form was refused: {exc}") from exc
        except (TooManyFilesSent, TooManyFieldsSent) as exc:
            # Django's limits (DATA_UPLOAD_MAX_NUMBER_FILES / _FIELDS) would otherwise answer with an HTML page.
            raise ParseError(f"the multipart form was refused: {exc}") from exc
        return DataAndFiles(data, files)
