"""Writing a reproduction pack: the version's chain as rows in pack.json, and the bytes of every blob it names."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

from assets.models import Blob, Brief, ModelWeights, Version
from assets.selectors import lineage_graph
from assets.services.blobs import blob_open
from assets.services.packs.contents import PACK_FORMAT, PACK_VERSION


def pack_export(*, version: Version, path: Path, with_weights: bool = False) -> dict:
    """Write the pack to `path` (temp name, then rename); returns its manifest."""
    graph = lineage_graph(version=version)
    blobs, weights, prompts, references = _chain_inputs(graph)
    for item in graph.versions.values():
        blobs[item.blob_id] = item.blob
    weight_blobs = {sha: Blob.objects.get(pk=sha) for item in weights.values() for sha in _weights_shas(item)}
    manifest = {
        "format": PACK_FORMAT,
        "version": PACK_VERSION,
        "root_version": version.pk,
        "with_weights": with_weights,
        **_brief_entries(version.brief),
        "blobs": {
            sha: {"size": blob.size, "media_type": blob.media_type}
            for sha, blob in {**blobs, **(weight_blobs if with_weights else {})}.items()
        },
        "weights": [_weights_entry(w) for w in weights.values()],
        "prompts": [
            {"id": p.pk, "text": p.text, "negative_text": p.negative_text, "values": p.values, "digest": p.digest}
            for p in prompts.values()
        ],
        "references": [
            {"id": r.pk, "blob": r.blob_id, "title": r.title, "width": r.width, "height": r.height, "format": r.format}
            for r in references.values()
        ],
        **_lineage_entries(graph),
    }
    _archive_write(path=Path(path), manifest=manifest)
    return manifest


def _chain_inputs(graph) -> tuple[dict[str, Blob], dict[str, ModelWeights], dict, dict]:
    """What the chain's derivations used: blobs by sha256, weights by sha256, prompts and references by id."""
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
    return blobs, weights, prompts, references


def _weights_shas(weights: ModelWeights) -> list[str]:
    """The blobs that hold a model: its single file, or the files of its folder."""
    shas = [weights.blob_id] if weights.blob_id else []
    return shas + list(weights.files.values())


def _brief_entries(brief: Brief) -> dict:
    return {
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
    }


def _weights_entry(w: ModelWeights) -> dict:
    return {
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


def _lineage_entries(graph) -> dict:
    """The chain's rows: its versions, derivations and the edges between them."""
    return {
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


def _archive_write(*, path: Path, manifest: dict) -> None:
    """pack.json and every blob it lists, under a temporary name renamed into place once complete."""
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
