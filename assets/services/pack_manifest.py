"""A reproduction pack read as hostile input: every member name, size and manifest field checked
before a byte is written.

A pack may come from another studio. Its names must never become paths, its sizes must not be
believed without a cap, and its rows may only point at what the pack itself carries (or at model
weights this install already has), so an import can neither write outside its scratch space nor
attach this install's other clients' images to a brief of its own.
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError

from assets.errors import ApplicationError
from assets.models import Derivation, Generated, ModelWeights, Phase, Used
from assets.models.validators import validate_relative_file_name

PACK_FORMAT = "seed-reproduction-pack"
PACK_VERSION = 1
MANIFEST_NAME = "pack.json"
BLOB_PREFIX = "blobs/"
SHA256 = re.compile(r"[0-9a-f]{64}\Z")
# Stored members hold images and weights that barely compress; a member that inflates more than this is a bomb.
MAX_COMPRESSION_RATIO = 100
OPTIONAL_INT = (int, type(None))
OPTIONAL_NUMBER = (int, float, type(None))


def _malformed(message: str) -> ApplicationError:
    return ApplicationError(f"the pack is malformed: {message}", extra={"code": "pack_malformed"})


def _refused(message: str, code: str) -> ApplicationError:
    return ApplicationError(f"the pack is refused: {message}", extra={"code": code})


@dataclass
class PackContents:
    manifest: dict
    members: dict[str, zipfile.ZipInfo]
    image_rows: dict[str, list[dict]] = field(default_factory=dict)
    weight_blobs: set[str] = field(default_factory=set)

    def limit_of(self, sha: str) -> int:
        """Model files may be large; every other blob is held to the upload limit."""
        return settings.SEED_PACK_MAX_WEIGHTS_FILE_BYTES if sha in self.weight_blobs else settings.SEED_MAX_UPLOAD_BYTES


def _members_check(archive: zipfile.ZipFile) -> tuple[zipfile.ZipInfo, dict[str, zipfile.ZipInfo]]:
    """Only `pack.json` and `blobs/<64 hex>` are accepted: no other name, directory, link, duplicate or bomb."""
    infos = archive.infolist()
    if len(infos) > settings.SEED_PACK_MAX_MEMBERS:
        raise _refused(
            f"it has {len(infos)} members; the limit is {settings.SEED_PACK_MAX_MEMBERS}", "pack_too_many_members"
        )
    manifest_info, blobs, seen, total = None, {}, set(), 0
    for info in infos:
        name = info.filename
        if name in seen:
            raise _refused(f"member {name!r} appears twice", "pack_duplicate_member")
        seen.add(name)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise _refused(f"member {name!r} is a symbolic link", "pack_link")
        if info.flag_bits & 0x1:
            raise _refused(f"member {name!r} is encrypted", "pack_encrypted")
        if name == MANIFEST_NAME:
            manifest_info = info
        elif name.startswith(BLOB_PREFIX) and SHA256.match(name[len(BLOB_PREFIX) :]):
            blobs[name[len(BLOB_PREFIX) :]] = info
        else:
            raise _refused(f"member {name!r} is not pack.json or blobs/<sha256>", "pack_member_name")
        if info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1) + 1024 * 1024:
            raise _refused(f"member {name!r} inflates from {info.compress_size} to {info.file_size} bytes", "pack_bomb")
        total += info.file_size
    if total > settings.SEED_PACK_MAX_BYTES:
        raise _refused(f"it unpacks to {total} bytes; the limit is {settings.SEED_PACK_MAX_BYTES}", "pack_too_large")
    if manifest_info is None:
        raise ApplicationError("not a Seed reproduction pack (no pack.json)", extra={"code": "pack_malformed"})
    return manifest_info, blobs


def _manifest_load(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> dict:
    limit = settings.SEED_PACK_MAX_MANIFEST_BYTES
    if info.file_size > limit:
        raise _refused(f"pack.json is {info.file_size} bytes; the limit is {limit}", "pack_manifest_too_large")
    try:
        with archive.open(info) as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise _refused(f"pack.json is larger than {limit} bytes", "pack_manifest_too_large")
        manifest = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ApplicationError(
            "not a Seed reproduction pack (no readable pack.json)", extra={"code": "pack_malformed"}
        ) from exc
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise _refused(f"pack.json cannot be read: {exc}", "pack_unreadable") from exc
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != PACK_FORMAT
        or manifest.get("version") != PACK_VERSION
    ):
        raise ApplicationError(
            f"not a Seed reproduction pack of version {PACK_VERSION}", extra={"code": "pack_malformed"}
        )
    return manifest


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


def _weights_identity_check(row: dict, where: str) -> None:
    """New weights must be what their sha256 says: the file's own hash, or the hash of a folder's file manifest."""
    if row["format"] == ModelWeights.Format.DIFFUSERS:
        expected = hashlib.sha256(json.dumps(row["files"], sort_keys=True).encode()).hexdigest()
    else:
        expected = row["blob"]
    if expected != row["sha256"]:
        raise _refused(
            f"{where} claims sha256 {row['sha256'][:12]} but its files hash to {str(expected)[:12]}", "pack_mismatch"
        )


def _links_check(manifest: dict, members: dict[str, zipfile.ZipInfo]) -> PackContents:
    """Every id a row names is defined in the pack; every blob a row names is in it, and every blob is named."""
    blobs = manifest["blobs"]
    for sha, info in blobs.items():
        _sha(sha, f"blobs key {sha[:80]!r}")
        _row(info, BLOB, f"blobs[{sha[:12]}]")
    if set(members) != set(blobs):
        absent, extra = sorted(set(blobs) - set(members)), sorted(set(members) - set(blobs))
        raise _refused(
            "; ".join(
                filter(
                    None,
                    [
                        absent and f"members missing for blobs {', '.join(s[:12] for s in absent)}",
                        extra and f"members not in the manifest: {', '.join(s[:12] for s in extra)}",
                    ],
                )
            ),
            "pack_members_mismatch",
        )
    for sha, info in blobs.items():
        if members[sha].file_size != info["size"]:
            raise _refused(
                f"blob {sha[:12]} is {members[sha].file_size} bytes in the archive, {info['size']} in pack.json",
                "pack_mismatch",
            )
    _row(manifest["brief"], BRIEF, "brief")
    weights = _rows(manifest, "weights", WEIGHTS)
    prompts, references = _rows(manifest, "prompts", PROMPT), _rows(manifest, "references", REFERENCE)
    versions, derivations = _rows(manifest, "versions", VERSION), _rows(manifest, "derivations", DERIVATION)
    contents = PackContents(manifest=manifest, members=members)
    named: set[str] = set()

    def blob_named(sha: str | None, where: str) -> None:
        if sha is not None and sha not in blobs:
            raise _refused(f"{where} names blob {sha[:12]}, which the pack does not carry", "pack_foreign_id")
        if sha is not None:
            named.add(sha)

    for label, rows in (("references", references), ("versions", versions)):
        for ident, row in rows.items():
            blob_named(row["blob"], f"{label} {ident}")
            contents.image_rows.setdefault(row["blob"], []).append(row)
    missing = []
    for sha, row in weights.items():
        files = ([row["blob"]] if row["blob"] else []) + list(row["files"].values())
        if ModelWeights.objects.filter(sha256=sha).exists():
            named.update(file for file in files if file in blobs)
            contents.weight_blobs.update(file for file in files if file in blobs)
            continue
        if not all(file in blobs for file in files):
            missing.append(row)
            continue
        _weights_identity_check(row, f"weights {sha[:12]}")
        named.update(files)
        contents.weight_blobs.update(files)
    if missing:
        raise ApplicationError(
            "the pack has no weights for "
            + ", ".join(f"{w['name']} ({w['sha256'][:12]})" for w in missing)
            + ": export it with --with-weights, or register those files here first",
            extra={"missing": [w["sha256"] for w in missing]},
        )
    targets = {"version": versions, "reference": references, "prompt": prompts, "model_weights": weights}
    for index, edge in enumerate(manifest["used"]):
        where = f"used[{index}]"
        _row(edge, USED, where)
        if edge["derivation"] not in derivations:
            raise _refused(
                f"{where} names derivation {edge['derivation']}, which the pack does not define", "pack_foreign_id"
            )
        set_targets = [key for key in (*targets, "blob") if edge[key] is not None]
        if len(set_targets) != 1:
            raise _malformed(f"{where} must name exactly one target, not {len(set_targets)}")
        key = set_targets[0]
        if key == "blob":
            blob_named(edge["blob"], where)
            if blobs[edge["blob"]]["media_type"].startswith("image/"):
                contents.image_rows.setdefault(edge["blob"], [])
        elif edge[key] not in targets[key]:
            raise _refused(
                f"{where} names {key} {str(edge[key])[:64]}, which the pack does not define", "pack_foreign_id"
            )
    outputs = set()
    for index, edge in enumerate(manifest["generated"]):
        where = f"generated[{index}]"
        _row(edge, GENERATED, where)
        if edge["derivation"] not in derivations or edge["version"] not in versions:
            raise _refused(f"{where} names a derivation or version the pack does not define", "pack_foreign_id")
        if edge["version"] in outputs:
            raise _malformed(f"{where}: version {edge['version']} is generated twice")
        outputs.add(edge["version"])
    if manifest["root_version"] not in versions:
        raise _refused(f"root_version {manifest['root_version']} is not among the pack's versions", "pack_foreign_id")
    unnamed = sorted(set(blobs) - named)
    if unnamed:
        raise _refused(
            f"blobs {', '.join(s[:12] for s in unnamed)} are named by no row of the pack", "pack_members_mismatch"
        )
    return contents


def pack_contents_read(*, archive: zipfile.ZipFile) -> PackContents:
    """Check the archive's members and its manifest in full; nothing is extracted or written here."""
    manifest_info, members = _members_check(archive)
    manifest = _manifest_load(archive, manifest_info)
    _row(manifest, TOP, "pack.json")
    return _links_check(manifest, members)
