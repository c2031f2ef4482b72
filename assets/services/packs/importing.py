"""Reading a reproduction pack into this install: every blob proven before it is stored, then the chain's rows
made again under a client of the pack's own."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

from assets.errors import ApplicationError
from assets.models import Brief, Client, Derivation, Generated, ModelWeights, Prompt, Reference, Used, Version
from assets.operations import params_clean
from assets.services.blobs import BlobsStored, blob_staged, image_checks
from assets.services.briefs import brief_create, campaign_create, client_create
from assets.services.packs.contents import PackContents, pack_contents_read


def pack_import(*, path: Path, created_by=None) -> Version:
    """Recreate the pack's lineage on this install under a new client of its own; returns the root version.

    A pack is hostile input, like an upload: its member names, sizes and manifest are checked in full
    before any byte is written, each blob is staged under a name of our own, its digest proven and an
    image inspected as an upload would be; the rows are made in one transaction that also names only
    what the pack itself carries (or weights this install already has).
    """
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise ApplicationError(f"{Path(path).name} is not a readable zip archive") from exc
    stored = BlobsStored()
    with archive:
        contents = pack_contents_read(archive=archive)
        manifest = contents.manifest
        try:
            with transaction.atomic():
                for sha in manifest["blobs"]:
                    _blob_import(archive=archive, contents=contents, sha=sha, stored=stored)
                weights = _weights_import(manifest=manifest)
                brief = _brief_for(manifest)
                return _lineage_import(manifest=manifest, brief=brief, weights=weights, created_by=created_by)
        except (IntegrityError, DataError, ValidationError) as exc:
            stored.discard()
            raise ApplicationError(f"the pack is malformed: {exc}", extra={"code": "pack_malformed"}) from exc
        except BaseException:
            stored.discard()
            raise


def _blob_import(*, archive: zipfile.ZipFile, contents: PackContents, sha: str, stored: BlobsStored) -> None:
    """Stage one member under a name we chose, prove its digest and (for images) its content, then store it.

    Raises before anything reaches the blob store.
    """
    info = contents.manifest["blobs"][sha]
    member = contents.members[sha]
    try:
        with archive.open(member) as source, blob_staged(source=source, max_bytes=contents.limit_of(sha)) as staged:
            if staged.sha256 != sha or staged.size != info["size"]:
                raise ApplicationError(
                    f"blob {sha[:12]} in the pack does not match its sha256 or size: the pack is damaged",
                    extra={"code": "pack_digest_mismatch", "sha256": sha},
                )
            if sha in contents.image_rows:
                image = image_checks(path=staged.path)
                if image.media_type != info["media_type"]:
                    raise ApplicationError(
                        f"blob {sha[:12]} is {image.media_type}, not {info['media_type']} as the pack says",
                        extra={"code": "pack_mismatch"},
                    )
                _image_facts_check(sha=sha, info=image, rows=contents.image_rows[sha])
            stored.store(staged=staged, media_type=info["media_type"])
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise ApplicationError(
            f"blob {sha[:12]} cannot be read from the pack: {exc}", extra={"code": "pack_unreadable"}
        ) from exc


def _image_facts_check(*, sha: str, info, rows: list[dict]) -> None:
    """The pack's rows must describe the image its bytes hold: a row cannot claim another size or format."""
    for row in rows:
        if (row["width"], row["height"], row["format"]) != (info.width, info.height, info.format):
            raise ApplicationError(
                f"blob {sha[:12]} holds a {info.width}x{info.height} {info.format} image, but the pack describes it as "
                f"{row['width']}x{row['height']} {row['format']}: the pack is damaged or forged",
                extra={"code": "pack_mismatch"},
            )


def _weights_import(*, manifest: dict) -> dict[str, ModelWeights]:
    """The pack's models by sha256: this install's row where it has one, else one made from the pack's."""
    weights = {}
    for item in manifest["weights"]:
        weights[item["sha256"]], _ = ModelWeights.objects.get_or_create(
            sha256=item["sha256"],
            defaults={
                k: item[k]
                for k in (
                    "kind",
                    "architecture",
                    "name",
                    "source_name",
                    "source_version",
                    "size",
                    "format",
                    "files",
                    "scale",
                    "notes",
                )
            }
            | {"blob_id": item["blob"]},
        )
    return weights


def _brief_for(manifest: dict) -> Brief:
    campaign = campaign_create(client=_client_for(name=manifest["client"]), name=manifest["campaign"])
    return brief_create(campaign=campaign, **manifest["brief"])


def _client_for(*, name: str) -> Client:
    """A client of its own for every import, marked as imported.

    Another install's "Aurora" is not ours: joining our client of that name would show the pack's
    images to our Aurora's reviewers and put a stranger's brief among theirs.
    """
    stamp, number = timezone.localdate().isoformat(), 1
    limit = Client._meta.get_field("name").max_length
    while True:
        suffix = f" (imported {stamp})" if number == 1 else f" (imported {stamp}, {number})"
        candidate = name.strip()[: limit - len(suffix)] + suffix
        if not Client.objects.filter(name=candidate).exists():
            return client_create(name=candidate)
        number += 1


def _lineage_import(*, manifest: dict, brief: Brief, weights: dict[str, ModelWeights], created_by) -> Version:
    """The pack's rows under `brief`, each edge pointing at the row made from its pack id; returns the root version."""
    prompts = {
        p["id"]: Prompt.objects.get_or_create(
            brief=brief,
            digest=p["digest"],
            defaults={"text": p["text"], "negative_text": p["negative_text"], "values": p["values"]},
        )[0]
        for p in manifest["prompts"]
    }
    references = {
        r["id"]: Reference.objects.create(
            brief=brief,
            blob_id=r["blob"],
            title=r["title"],
            width=r["width"],
            height=r["height"],
            format=r["format"],
        )
        for r in manifest["references"]
    }
    versions = {
        v["id"]: Version.objects.create(
            brief=brief,
            blob_id=v["blob"],
            width=v["width"],
            height=v["height"],
            format=v["format"],
            seed=v["seed"],
            label=v["label"],
        )
        for v in manifest["versions"]
    }
    derivations = _derivations_import(manifest=manifest, brief=brief, created_by=created_by)
    _edges_import(
        manifest=manifest,
        derivations=derivations,
        versions=versions,
        references=references,
        prompts=prompts,
        weights=weights,
    )
    return versions[manifest["root_version"]]


def _derivations_import(*, manifest: dict, brief: Brief, created_by) -> dict[int, Derivation]:
    """The pack's derivations, their parameters cleaned as any recorded here are."""
    return {
        d["id"]: Derivation.objects.create(
            brief=brief,
            op=d["op"],
            phase=d["phase"],
            params=params_clean(op=d["op"], params=d["params"]),
            environment=d["environment"],
            state=d["state"],
            wall_seconds=d["wall_seconds"],
            gpu_seconds=d["gpu_seconds"],
            created_by=created_by,
        )
        for d in manifest["derivations"]
    }


def _edges_import(*, manifest: dict, derivations: dict, versions: dict, references: dict, prompts: dict, weights: dict):
    Used.objects.bulk_create(
        Used(
            derivation=derivations[e["derivation"]],
            role=e["role"],
            position=e["position"],
            weight=e["weight"],
            version=versions.get(e["version"]),
            reference=references.get(e["reference"]),
            prompt=prompts.get(e["prompt"]),
            model_weights=weights.get(e["model_weights"]),
            blob_id=e["blob"],
        )
        for e in manifest["used"]
    )
    Generated.objects.bulk_create(
        Generated(
            derivation=derivations[e["derivation"]],
            version=versions[e["version"]],
            role=e["role"],
            index=e["index"],
        )
        for e in manifest["generated"]
    )
