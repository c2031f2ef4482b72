"""OpenAPI additions drf-spectacular cannot infer: the error answers every operation may give,
in our one error shape."""

from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "message": {"type": "string", "description": "What went wrong, in a sentence for people"},
        "extra": {
            "type": "object",
            "additionalProperties": True,
            "description": "Details for programs: `code` (a refusal reason), `fields` (per-field errors) …",
        },
    },
    "required": ["message", "extra"],
}
DESCRIPTIONS = {
    "400": "Refused: invalid input or a rule of the studio (see `message` and `extra.code`)",
    "401": "Not signed in: send `Authorization: Token …` or an admin session",
    "403": "Signed in, but this role or client may not do this",
    "404": "No such object (in the path or named in the body), or not one of this user's clients",
    "413": "The request body is over the upload limit",
    "415": "The request body's content type is not accepted here",
    "503": "The database is unavailable; retry after `Retry-After` seconds",
}
WRITE_METHODS = {"post", "put", "patch"}


def _codes(method: str, operation: dict) -> list[str]:
    parameters = operation.get("parameters", [])
    codes = ["401", "403", "503"]
    if method in WRITE_METHODS or any(parameter["in"] == "query" for parameter in parameters):
        codes.append("400")
    # Writes name objects in their bodies too, and a page past the end is a 404 in DRF's pagination.
    if method in WRITE_METHODS or any(
        parameter["in"] == "path" or parameter["name"] == "page" for parameter in parameters
    ):
        codes.append("404")
    if method in WRITE_METHODS:
        codes += ["413", "415"]
    return codes


def error_responses_add(result, generator, request, public):
    """A drf-spectacular postprocessing hook: documents the error answers beside each operation's own."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            for code in _codes(method, operation):
                responses.setdefault(
                    code, {"content": {"application/json": {"schema": reference}}, "description": DESCRIPTIONS[code]}
                )
    return result
