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
import stat
import zipfile
import zlib
from dataclasses import dataclass, field

from django.conf import settings

from assets.errors import ApplicationError
from assets.models import ModelWeights
from assets.services.packs.schema import (
    BLOB,
    BRIEF,
    DERIVATION,
    GENERATED,
    PROMPT,
    REFERENCE,
    SHA256,
    TOP,
    USED,
    VERSION,
    WEIGHTS,
    _malformed,
    _refused,
    _row,
    _rows,
    _sha,
)

PACK_FORMAT = "seed-reproduction-pack"
PACK_VERSION = 1
MANIFEST_NAME = "pack.json"
BLOB_PREFIX = "blobs/"
# Stored members hold images and weights that barely compress; a member that inflates more than this is a bomb.
MAX_COMPRESSION_RATIO = 100


@dataclass
class PackContents:
    manifest: dict
    members: dict[str, zipfile.ZipInfo]
    image_rows: dict[str, list[dict]] = field(default_factory=dict)
    weight_blobs: set[str] = field(default_factory=set)

    def limit_of(self, sha: str) -> int:
        """Model files may be large; every other blob is held to the upload limit."""
        return settings.SEED_PACK_MAX_WEIGHTS_FILE_BYTES if sha in self.weight_blobs else settings.SEED_MAX_UPLOAD_BYTES


def pack_contents_read(*, archive: zipfile.ZipFile) -> PackContents:
    """Check the archive's members and its manifest in full; nothing is extracted or written here."""
    manifest_info, members = _members_check(archive)
    manifest = _manifest_load(archive, manifest_info)
    _row(manifest, TOP, "pack.json")
    return _links_check(manifest, members)


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


def _links_check(manifest: dict, members: dict[str, zipfile.ZipInfo]) -> PackContents:
    """Every id a row names is defined in the pack; every blob a row names is in it, and every blob is named."""
    blobs = manifest["blobs"]
    _blobs_check(blobs, members)
    _row(manifest["brief"], BRIEF, "brief")
    weights = _rows(manifest, "weights", WEIGHTS)
    prompts, references = _rows(manifest, "prompts", PROMPT), _rows(manifest, "references", REFERENCE)
    versions, derivations = _rows(manifest, "versions", VERSION), _rows(manifest, "derivations", DERIVATION)
    contents = PackContents(manifest=manifest, members=members)
    named: set[str] = set()
    for label, rows in (("references", references), ("versions", versions)):
        for ident, row in rows.items():
            _blob_name(row["blob"], f"{label} {ident}", blobs=blobs, named=named)
            contents.image_rows.setdefault(row["blob"], []).append(row)
    _weights_link(weights, blobs=blobs, named=named, contents=contents)
    targets = {"version": versions, "reference": references, "prompt": prompts, "model_weights": weights}
    for index, edge in enumerate(manifest["used"]):
        _used_link(edge, f"used[{index}]", derivations=derivations, targets=targets, named=named, contents=contents)
    _generated_check(manifest["generated"], derivations=derivations, versions=versions)
    if manifest["root_version"] not in versions:
        raise _refused(f"root_version {manifest['root_version']} is not among the pack's versions", "pack_foreign_id")
    unnamed = sorted(set(blobs) - named)
    if unnamed:
        raise _refused(
            f"blobs {', '.join(s[:12] for s in unnamed)} are named by no row of the pack", "pack_members_mismatch"
        )
    return contents


def _blobs_check(blobs: dict, members: dict[str, zipfile.ZipInfo]) -> None:
    """The manifest's blobs are exactly the archive's members, each of the size the manifest gives it."""
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


def _blob_name(sha: str | None, where: str, *, blobs: dict, named: set[str]) -> None:
    if sha is not None and sha not in blobs:
        raise _refused(f"{where} names blob {sha[:12]}, which the pack does not carry", "pack_foreign_id")
    if sha is not None:
        named.add(sha)


def _weights_link(weights: dict, *, blobs: dict, named: set[str], contents: PackContents) -> None:
    """Weights this install has need none of their files; new ones need them all, hashing to their sha256."""
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


def _used_link(edge, where: str, *, derivations: dict, targets: dict, named: set[str], contents: PackContents) -> None:
    """A used edge names a derivation of the pack and exactly one input: a row of the pack, or one of its blobs."""
    _row(edge, USED, where)
    if edge["derivation"] not in derivations:
        raise _refused(
            f"{where} names derivation {edge['derivation']}, which the pack does not define", "pack_foreign_id"
        )
    set_targets = [key for key in (*targets, "blob") if edge[key] is not None]
    if len(set_targets) != 1:
        raise _malformed(f"{where} must name exactly one target, not {len(set_targets)}")
    key = set_targets[0]
    blobs = contents.manifest["blobs"]
    if key == "blob":
        _blob_name(edge["blob"], where, blobs=blobs, named=named)
        if blobs[edge["blob"]]["media_type"].startswith("image/"):
            contents.image_rows.setdefault(edge["blob"], [])
    elif edge[key] not in targets[key]:
        raise _refused(f"{where} names {key} {str(edge[key])[:64]}, which the pack does not define", "pack_foreign_id")


def _generated_check(edges: list, *, derivations: dict, versions: dict) -> None:
    """Each generated edge joins a derivation and a version of the pack, and no version is made twice."""
    outputs = set()
    for index, edge in enumerate(edges):
        where = f"generated[{index}]"
        _row(edge, GENERATED, where)
        if edge["derivation"] not in derivations or edge["version"] not in versions:
            raise _refused(f"{where} names a derivation or version the pack does not define", "pack_foreign_id")
        if edge["version"] in outputs:
            raise _malformed(f"{where}: version {edge['version']} is generated twice")
        outputs.add(edge["version"])


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
