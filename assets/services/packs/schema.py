"""The shape a pack.json row must have: exactly its keys, each of its type, checked before any row is believed."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

from assets.errors import ApplicationError
from assets.models import Derivation, Generated, ModelWeights, Phase, Used
from assets.models.validators import validate_relative_file_name

SHA256 = re.compile(r"[0-9a-f]{64}\Z")
OPTIONAL_INT = (int, type(None))
OPTIONAL_NUMBER = (int, float, type(None))


def _malformed(message: str) -> ApplicationError:
    return ApplicationError(f"the pack is malformed: {message}", extra={"code": "pack_malformed"})


def _refused(message: str, code: str) -> ApplicationError:
    return ApplicationError(f"the pack is refused: {message}", extra={"code": code})


def _typed(value, types, where: str):
    types = types if isinstance(types, tuple) else (types,)
    if isinstance(value, bool) and bool not in types:
        raise _malformed(f"{where} must be {' or '.join(t.__name__ for t in types)}, not a boolean")
    if not isinstance(value, types):
        raise _malformed(f"{where} must be {' or '.join(t.__name__ for t in types)}, not {type(value).__name__}")
    return value


def _sha(value, where: str, *, optional: bool = False):
    if optional and value is None:
        return None
    if not isinstance(value, str) or not SHA256.match(value):
        raise _malformed(f"{where} must be a sha256 of 64 lowercase hex digits")
    return value


def _row(value, spec: dict, where: str) -> dict:
    """A dict with exactly the keys of `spec`, each of its type (a type, a tuple of types, or a checking function)."""
    _typed(value, dict, where)
    missing, unknown = sorted(set(spec) - set(value)), sorted(set(value) - set(spec))
    if missing or unknown:
        raise _malformed(
            f"{where} "
            + "; ".join(
                filter(
                    None, [missing and f"lacks {', '.join(missing)}", unknown and f"has unknown {', '.join(unknown)}"]
                )
            )
        )
    for key, kind in spec.items():
        if callable(kind) and not isinstance(kind, type):
            kind(value[key], f"{where}.{key}")
        else:
            _typed(value[key], kind, f"{where}.{key}")
    return value


def _choice(choices):
    def check(value, where):
        if value not in choices:
            raise _malformed(f"{where} must be one of {', '.join(map(str, choices))}")

    return check


def _str_list(value, where):
    for index, item in enumerate(_typed(value, list, where)):
        _typed(item, str, f"{where}[{index}]")


def _non_negative(value, where):
    if _typed(value, int, where) < 0:
        raise _malformed(f"{where} must not be negative")


def _files(value, where):
    """A weights folder's {relative name: sha256}; each name becomes a path on the worker that loads it."""
    for key, sha in _typed(value, dict, where).items():
        try:
            validate_relative_file_name(key)
        except ValidationError as exc:
            raise _refused(f"{where}: {exc.messages[0]}", "pack_file_name") from exc
        _sha(sha, f"{where}[{key!r}]")


def _optional_sha(value, where):
    _sha(value, where, optional=True)


BRIEF = {
    "title": str,
    "palette": _str_list,
    "aspect": str,
    "channels": _str_list,
    "content_type": str,
    "negative_prompt": str,
    "notes": str,
}
BLOB = {"size": _non_negative, "media_type": str}
WEIGHTS = {
    "sha256": _sha,
    "kind": _choice(ModelWeights.Kind.values),
    "architecture": _choice(ModelWeights.Architecture.values),
    "name": str,
    "source_name": str,
    "source_version": str,
    "size": _non_negative,
    "format": _choice(ModelWeights.Format.values),
    "blob": _optional_sha,
    "files": _files,
    "scale": OPTIONAL_INT,
    "notes": str,
}
PROMPT = {"id": int, "text": str, "negative_text": str, "values": dict, "digest": _sha}
REFERENCE = {"id": int, "blob": _sha, "title": str, "width": int, "height": int, "format": str}
VERSION = {"id": int, "blob": _sha, "width": int, "height": int, "format": str, "seed": OPTIONAL_INT, "label": str}
# A pack carries a finished chain: a queued or running row would be picked up by this install's workers.
DERIVATION = {
    "id": int,
    "op": str,
    "phase": _choice(Phase.values),
    "params": dict,
    "environment": dict,
    "state": _choice([Derivation.State.SUCCEEDED]),
    "wall_seconds": OPTIONAL_NUMBER,
    "gpu_seconds": OPTIONAL_NUMBER,
}
USED = {
    "derivation": int,
    "role": _choice(Used.Role.values),
    "position": _non_negative,
    "weight": OPTIONAL_NUMBER,
    "version": OPTIONAL_INT,
    "reference": OPTIONAL_INT,
    "prompt": OPTIONAL_INT,
    "model_weights": _optional_sha,
    "blob": _optional_sha,
}
GENERATED = {"derivation": int, "version": int, "role": _choice(Generated.Role.values), "index": _non_negative}
TOP = {
    "format": str,
    "version": int,
    "root_version": int,
    "with_weights": bool,
    "client": str,
    "campaign": str,
    "brief": dict,
    "blobs": dict,
    "weights": list,
    "prompts": list,
    "references": list,
    "versions": list,
    "derivations": list,
    "used": list,
    "generated": list,
}


def _rows(manifest: dict, key: str, spec: dict) -> dict:
    """The rows of one list by id (or sha256 for weights); a repeated id is malformed."""
    by_id = {}
    for index, row in enumerate(manifest[key]):
        _row(row, spec, f"{key}[{index}]")
        ident = row.get("id", row.get("sha256"))
        if ident in by_id:
            raise _malformed(f"{key}[{index}] repeats id {ident}")
        by_id[ident] = row
    return by_id
