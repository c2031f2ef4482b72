"""The demo's retouch round trip: the approved master exported for retouching, changed outside Seed as a retoucher's
script would, and brought back through the import `manage.py import_images` runs; it comes back as the master's
child, found by its C2PA parentOf ingredient.

`outside_retouch` stands in for the retoucher's tool (Photoshop writes the same shape): Pillow warms the colour and
resizes, and the result is signed with the retoucher's own key (a CA of their own, not Seed's), citing the exported
file as its `parentOf` ingredient with `c2pa.color_adjustments` and `c2pa.resized` actions.
"""

from __future__ import annotations

import io
import tempfile
import uuid
from pathlib import Path

from django.core.files.base import ContentFile
from PIL import Image, ImageEnhance

from assets.errors import ApplicationError
from assets.incoming import xmp_ids_read
from assets.models import Version
from assets.services.recipe_imports import images_import
from delivery.keys import dev_ca_create
from delivery.services.retouch_exports import retouch_export

RETOUCHED_NAME = "retouched_master.jpg"
RETOUCHER = {"name": "RetouchScript", "version": "0.3"}


def _derived_xmp(exported: Image.Image) -> bytes:
    """The XMP an editor's "Save As" writes: a new document, derived from the one it opened."""
    opened = xmp_ids_read(exported.info.get("xmp"))
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" '
        'xmlns:stRef="http://ns.adobe.com/xap/1.0/sType/ResourceRef#" '
        f'xmpMM:DocumentID="xmp.did:{uuid.uuid4()}" xmpMM:InstanceID="xmp.iid:{uuid.uuid4()}" '
        f'xmpMM:OriginalDocumentID="{opened.original_document_id}">'
        f'<xmpMM:DerivedFrom stRef:documentID="{opened.document_id}" stRef:instanceID="{opened.instance_id}"/>'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


def outside_retouch(*, exported: bytes, keys: dict[str, Path] | None, scale: float = 0.75) -> bytes:
    """What a retoucher's tool makes of an exported file: warmer, resized, saved as JPEG with its XMP; signed with
    `keys` (root, chain, key as delivery.keys writes them) citing the export as parentOf, or, without keys, as an
    editor that drops C2PA but keeps XMP leaves it."""
    with Image.open(io.BytesIO(exported)) as opened:
        xmp = _derived_xmp(opened)
        warmer = ImageEnhance.Color(opened.convert("RGB")).enhance(1.25)
        size = (max(1, round(opened.width * scale)), max(1, round(opened.height * scale)))
        retouched = warmer.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    retouched.save(buffer, format="JPEG", quality=92, xmp=xmp)
    return buffer.getvalue() if keys is None else _retoucher_sign(buffer.getvalue(), exported=exported, keys=keys)


def _retoucher_sign(data: bytes, *, exported: bytes, keys: dict[str, Path]) -> bytes:
    import c2pa

    agent = {"name": f"{RETOUCHER['name']} {RETOUCHER['version']}"}
    manifest = {
        "claim_generator_info": [RETOUCHER],
        "title": RETOUCHED_NAME,
        "format": "image/jpeg",
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {"action": "c2pa.opened", "parameters": {"ingredientIds": ["exported"]}},
                        {"action": "c2pa.color_adjustments", "softwareAgent": agent},
                        {"action": "c2pa.resized", "softwareAgent": agent},
                    ]
                },
            }
        ],
    }
    context = c2pa.Context(c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}}))
    signer = c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(
            alg=b"es256", sign_cert=keys["chain"].read_bytes(), private_key=keys["key"].read_bytes(), ta_url=None
        )
    )
    builder = c2pa.Builder(manifest, context)
    parent = {"title": "exported for retouching", "relationship": "parentOf", "label": "exported"}
    builder.add_ingredient({**parent, "instance_id": "exported"}, "image/png", io.BytesIO(exported))
    signed = io.BytesIO()
    builder.sign(signer, "image/jpeg", io.BytesIO(data), signed)
    return signed.getvalue()


def retouch_stage(*, context: dict) -> dict:
    master, user = context["approved_master"], context["user"]
    came_back = Version.objects.filter(brief=master.brief, label=RETOUCHED_NAME).first()
    if came_back is not None:
        return {"retouched": came_back.pk, "came_back": came_back.generated_by.derivation.params.get("parent_match")}
    exported = retouch_export(version=master, user=user)
    with tempfile.TemporaryDirectory(prefix="seed-demo-retoucher-") as folder:
        keys = dev_ca_create(folder=Path(folder), organisation="Outside retoucher (demo)")
        retouched = outside_retouch(exported=exported.data, keys=keys)
    [report] = images_import(
        brief=master.brief, sources=[ContentFile(retouched, name=RETOUCHED_NAME)], created_by=user, find_parent=True
    )
    if not report["imported"] or report["parent"] != master.pk:
        raise ApplicationError(
            f"the demo's retouch of v{master.pk} did not come back as its child: "
            + (report.get("parent_match") or report.get("error") or "no parent found")
        )
    return {
        "exported": exported.file_name,
        "credential": exported.credential.manifest_id,
        "retouched": report["version"],
        "came_back": f"{RETOUCHED_NAME} came back as v{report['version']}, {report['parent_match']}",
        "edits": report["edits"],
    }
