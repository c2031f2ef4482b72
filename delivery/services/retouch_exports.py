"""Export for retouching: a version's pixels as a file a retoucher opens, that names itself, and that Seed recognises
when it comes back (assets.parent_matching).

PNG, because a retouch must start from the version's pixels as they are: JPEG would lose detail at every round trip;
PNG is lossless, 8-bit like the pipeline (a TIFF would be larger and hold nothing more), keeps transparency, and
Photoshop, Affinity, GIMP and Capture One open it. The file carries XMP with a fresh
`xmpMM:DocumentID`/`InstanceID` (`OriginalDocumentID` the same, as for a new document: an editor keeps it, and its
"Save As" names it in `DerivedFrom`), and Seed's signed manifest: the version's own chain of actions, the lineage
assertion and the soft binding (the pixels' ISCC content code). Its manifest store is kept as a Credential
(kind retouch_export) under that document id, so the retouch is found by its parentOf ingredient, its XMP, or its
pixels.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from django.db import transaction
from PIL import Image, PngImagePlugin

from assets.content_codes import content_code
from assets.models import Credential, Version
from assets.selectors import lineage_graph
from assets.services.audit import audit_event_append
from assets.services.blobs import blob_open
from delivery.provenance import GENERATOR, srgb_icc
from delivery.services.lineage_facts import chain_actions
from delivery.signing import manifest_build
from delivery.signing_child import sign_isolated

MEDIA_TYPE = "image/png"


@dataclass(frozen=True)
class RetouchExport:
    data: bytes
    file_name: str
    credential: Credential
    media_type: str = MEDIA_TYPE


def _xmp(*, document_id: str, instance_id: str) -> str:
    tool = f"Seed {GENERATOR['version']}"
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        'xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" '
        f"xmp:CreatorTool={quoteattr(tool)} "
        f"xmpMM:DocumentID={quoteattr(document_id)} xmpMM:OriginalDocumentID={quoteattr(document_id)} "
        f"xmpMM:InstanceID={quoteattr(instance_id)}/>"
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )


def _pixels(version: Version) -> tuple[Image.Image, bytes]:
    """The version's pixels in a mode PNG keeps losslessly, and its colour profile (sRGB when it names none)."""
    with blob_open(blob=version.blob) as handle, Image.open(io.BytesIO(handle.read())) as opened:
        opened.load()
        icc = opened.info.get("icc_profile") or srgb_icc()
        if opened.mode in ("RGB", "RGBA", "L", "LA"):
            return opened.copy(), icc
        return opened.convert("RGBA" if opened.has_transparency_data else "RGB"), icc


def _png(image: Image.Image, *, icc: bytes, xmp: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info, icc_profile=icc, compress_level=6)
    return buffer.getvalue()


def retouch_export(*, version: Version, user) -> RetouchExport:
    """Make, sign and record one export of `version` for retouching; the caller checked the user may."""
    image, icc = _pixels(version)
    document_id, instance_id = f"xmp.did:{uuid.uuid4()}", f"xmp.iid:{uuid.uuid4()}"
    file_name = f"v{version.pk}-{version.blob_id[:12]}-retouch.png"
    graph = lineage_graph(version=version)
    chain = graph.chain()
    actions, parents = chain_actions(chain, graph)
    code = content_code(image)
    manifest = manifest_build(
        title=file_name,
        media_type=MEDIA_TYPE,
        actions=actions,
        lineage={
            "version_id": version.pk,
            "sha256": version.blob_id,
            "brief": {"id": version.brief_id, "title": version.brief.title},
            "purpose": "retouch_export",
            "document_id": document_id,
            "chain": [{"derivation": derivation.pk, "op": derivation.op} for derivation in chain],
        },
        soft_binding=code,
    )
    signed = sign_isolated(
        data=_png(image, icc=icc, xmp=_xmp(document_id=document_id, instance_id=instance_id)),
        media_type=MEDIA_TYPE,
        manifest=manifest,
        ingredients=parents,
    )
    with transaction.atomic():
        credential = Credential.objects.create(
            manifest_id=signed.manifest_id,
            version=version,
            kind=Credential.Kind.RETOUCH_EXPORT,
            store=signed.store,
            file_sha256=hashlib.sha256(signed.data).hexdigest(),
            media_type=MEDIA_TYPE,
            width=image.width,
            height=image.height,
            iscc=code.iscc,
            iscc_image=code.bits,
            document_id=document_id,
            claim_generator=f"Seed {GENERATOR['version']}",
        )
        audit_event_append(
            kind="version.retouch_exported",
            object_type="version",
            object_id=version.pk,
            actor=user,
            payload={"credential": credential.pk, "manifest_id": signed.manifest_id, "document_id": document_id},
        )
    return RetouchExport(data=signed.data, file_name=file_name, credential=credential)
