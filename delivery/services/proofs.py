"""Soft proofs and slot pictures of a version, made once and kept in the "derived" storage: derived pixels, never
lineage. A file's name holds everything its pixels depend on (the version's and the profile's sha256, the intent and
options; a slot's size, focal point and visible label), so a name found is a file to serve; the storage writes each to
a temp name and links it into place, so a reader never sees half a file."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from PIL import Image

from assets.models import Version
from assets.services.blobs import blob_open
from delivery import proofing, renditions
from delivery.ai_label import label_apply
from delivery.models import ChannelPreset
from delivery.selectors import version_focal
from delivery.services.deliveries import master_decode

# Proofs and slots are read by the reviewer's browser at once: fast compression, the same pixels.
PNG_LEVEL = 1


@dataclass(frozen=True)
class ProofFiles:
    proof: str  # names in the "derived" storage
    gamut: str
    out_of_gamut_percent: float


def master_pixels(*, version: Version) -> Image.Image:
    """The version's pixels as a delivery decodes them."""
    with blob_open(blob=version.blob) as handle:
        return master_decode(data=handle.read())


def png_content(image: Image.Image) -> ContentFile:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=PNG_LEVEL)
    return ContentFile(buffer.getvalue())


def proof_ensure(
    *, version: Version, preset: ChannelPreset, intent: str, black_point: bool, paper_white: bool
) -> ProofFiles:
    """The soft proof of the version through the preset's print profile, its gamut warning and share, made on the
    first call; the facts file is written last, so finding it means the pictures are there too."""
    storage = storages["derived"]
    profile = preset.print_profile
    options = f"{intent}-{'bpc' if black_point else 'nobpc'}-{'paper' if paper_white else 'screen'}"
    stem = f"proofs/{version.blob_id[:2]}/{version.blob_id}-{profile.sha256}-{options}"
    files = {"proof": f"{stem}.png", "gamut": f"{stem}-gamut.png"}
    facts = f"{stem}.json"
    if storage.exists(facts):
        with storage.open(facts, "rb") as handle:
            return ProofFiles(**files, out_of_gamut_percent=json.load(handle)["out_of_gamut_percent"])
    with blob_open(blob=profile) as handle:
        profile_data = handle.read()
    proof = proofing.soft_proof(
        image=master_pixels(version=version),
        profile_data=profile_data,
        intent=intent,
        black_point=black_point,
        paper_white=paper_white,
    )
    storage.save(files["proof"], png_content(proof.image))
    storage.save(files["gamut"], png_content(proof.warning))
    storage.save(facts, ContentFile(json.dumps({"out_of_gamut_percent": proof.out_of_gamut_percent}).encode()))
    return ProofFiles(**files, out_of_gamut_percent=proof.out_of_gamut_percent)


def slot_ensure(*, version: Version, preset: ChannelPreset) -> str:
    """The preset's picture of the version as a delivery renders it (focal crop, resize, visible AI label), in RGB
    before any print conversion, as PNG; its name in the "derived" storage."""
    storage = storages["derived"]
    focal = version_focal(version=version)
    depends = [preset.width, preset.height, preset.kind, focal, preset.ai_label_placement, preset.ai_label_text]
    digest = hashlib.sha256(json.dumps(depends).encode()).hexdigest()[:24]
    name = f"slots/{version.blob_id[:2]}/{version.blob_id}-{digest}.png"
    if storage.exists(name):
        return name
    master = master_pixels(version=version)
    rendered = renditions.render(
        master=master,
        preset=preset,
        focal=focal,
        slate={},
        halved=renditions.halved_master(master, [preset]),
    )
    label_apply(item=rendered)
    storage.save(name, png_content(rendered.image))
    return name
