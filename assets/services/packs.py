"""Reproduction packs: one archive with a version's whole chain, and its import on another install.

The pack holds the lineage rows (derivations with parameters and environment fingerprints, used and
generated edges, prompts, references, model names and sha256s) and the bytes of every image and
side file; model weights only when asked. After an import, `reproduce` works on the new install.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

from assets.errors import ApplicationError
from assets.models import Blob, Brief, Client, Derivation, Generated, ModelWeights, Prompt, Reference, Used, Version
from assets.params import params_clean
from assets.selectors import lineage_graph
from assets.services.blobs import BlobsStored, blob_open, blob_staged, image_checks
from assets.services.briefs import brief_create, campaign_create, client_create
from assets.services.pack_manifest import PACK_FORMAT, PACK_VERSION, PackContents, pack_contents_read


def pack_export(*, version: Version, path: Path, with_weights: bool = False) -> dict:
    """Write the pack to `path` (temp name, then rename); returns its manifest."""
    graph = lineage_graph(version=version)
    blobs: dict[str, Blob] = {}
    weights: dict[str, ModelWeights] = {}
    prompts, references = {}, {}
    for edge in graph.used:
        target = edge.target
        if edge.reference_id:
            references[target.pk] = target
            blobs[target.blob_id] = target.blob
        elif edge.prompt_id:
            prompts[target.pk] = target
        elif edge.model_weights_id:
            weights[target.sha256] = target
        elif edge.blob_id:
            blobs[target.sha256] = target
    for item in graph.versions.values():
        blobs[item.blob_id] = item.blob
    weight_blobs = {}
    for item in weights.values():
        shas = [item.blob_id] if item.blob_id else []
        shas += list(item.files.values())
        for sha in shas:
            weight_blobs[sha] = Blob.objects.get(pk=sha)
    brief = version.brief
    manifest = {
        "format": PACK_FORMAT,
        "version": PACK_VERSION,
        "root_version": version.pk,
        "with_weights": with_weights,
        "client": brief.campaign.client.name,
        "campaign": brief.campaign.name,
        "brief": {
            "title": brief.title,
            "palette": brief.palette,
            "aspect": brief.aspect,
            "channels": brief.channels,
            "content_type": brief.content_type,
            "negative_prompt": brief.negative_prompt,
            "notes": brief.notes,
        },
        "blobs": {
            sha: {"size": blob.size, "media_type": blob.media_type}
            for sha, blob in {**blobs, **(weight_blobs if with_weights else {})}.items()
        },
        "weights": [
            {
                "sha256": w.sha256,
                "kind": w.kind,
                "architecture": w.architecture,
                "name": w.name,
                "source_name": w.source_name,
                "source_version": w.source_version,
                "size": w.size,
                "format": w.format,
                "blob": w.blob_id,
                "files": w.files,
                "scale": w.scale,
                "notes": w.notes,
            }
            for w in weights.values()
        ],
        "prompts": [
            {"id": p.pk, "text": p.text, "negative_text": p.negative_text, "values": p.values, "digest": p.digest}
            for p in prompts.values()
        ],
        "references": [
            {"id": r.pk, "blob": r.blob_id, "title": r.title, "width": r.width, "height": r.height, "format": r.format}
            for r in references.values()
        ],
        "versions": [
            {
                "id": v.pk,
                "blob": v.blob_id,
                "width": v.width,
                "height": v.height,
                "format": v.format,
                "seed": v.seed,
                "label": v.label,
            }
            for v in graph.versions.values()
        ],
        "derivations": [
            {
                "id": d.pk,
                "op": d.op,
                "phase": d.phase,
                "params": d.params,
                "environment": d.environment,
                "state": d.state,
                "wall_seconds": d.wall_seconds,
                "gpu_seconds": d.gpu_seconds,
            }
            for d in graph.derivations.values()
        ],
        "used": [
            {
                "derivation": e.derivation_id,
                "role": e.role,
                "position": e.position,
                "weight": e.weight,
                "version": e.version_id,
                "reference": e.reference_id,
                "prompt": e.prompt_id,
                "model_weights": e.model_weights.sha256 if e.model_weights_id else None,
                "blob": e.blob_id,
            }
            for e in graph.used
        ],
        "generated": [
            {"derivation": e.derivation_id, "version": e.version_id, "role": e.role, "index": e.index}
            for e in graph.generated
        ],
    }
    path = Path(path)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr(
                "pack.json", json.dumps(manifest, indent=1, default=str), compress_type=zipfile.ZIP_DEFLATED
            )
            for sha in manifest["blobs"]:
                with (
                    blob_open(blob=Blob(sha256=sha)) as source,
                    archive.open(f"blobs/{sha}", "w", force_zip64=True) as out,
                ):
                    while chunk := source.read(1024 * 1024):
                        out.write(chunk)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return manifest


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


def _brief_for(manifest: dict) -> Brief:
    campaign = campaign_create(client=_client_for(name=manifest["client"]), name=manifest["campaign"])
    return brief_create(campaign=campaign, **manifest["brief"])


def _image_facts_check(*, sha: str, info, rows: list[dict]) -> None:
    """The pack's rows must describe the image its bytes hold: a row cannot claim another size or format."""
    for row in rows:
        if (row["width"], row["height"], row["format"]) != (info.width, info.height, info.format):
            raise ApplicationError(
                f"blob {sha[:12]} holds a {info.width}x{info.height} {info.format} image, but the pack describes it as "
                f"{row['width']}x{row['height']} {row['format']}: the pack is damaged or forged",
                extra={"code": "pack_mismatch"},
            )


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
                brief = _brief_for(manifest)
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
                derivations = {}
                for d in manifest["derivations"]:
                    derivations[d["id"]] = Derivation.objects.create(
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
                return versions[manifest["root_version"]]
        except (IntegrityError, DataError, ValidationError) as exc:
            stored.discard()
            raise ApplicationError(f"the pack is malformed: {exc}", extra={"code": "pack_malformed"}) from exc
        except BaseException:
            stored.discard()
            raise
