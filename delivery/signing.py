"""Signing a file's C2PA manifest: the claim Seed makes about a file (actions, lineage, approval, AI use, soft
binding), its ingredients, and the signature, written last to a temporary name and kept only if it reads back Trusted.

c2pa is imported inside the functions, which run on the worker, or for a web request in a child process
(delivery.signing_child): the web process never loads c2pa.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from assets.c2pa_reading import APPROVAL_LABEL, LINEAGE_LABEL, SOFT_BINDING_LABEL, TRAINING_MINING_LABEL
from assets.content_codes import ISCC_ALG, ContentCode
from delivery.provenance import GENERATOR, SigningFailed, c2pa_context, manifest_read, pem_read


def _chain_without_anchor(pem: bytes) -> bytes:
    """The signing chain less any self-signed root: a validator must find the root among its own trust
    anchors anyway, so carrying it would only add its bytes to every manifest (two per delivered file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise SigningFailed(
            f"the C2PA signing certificate chain ({settings.SEED_C2PA_CERT}) is not PEM certificates: {exc}",
            extra={"code": "signing_unconfigured"},
        ) from exc
    kept = [certificate for certificate in certificates if certificate.subject != certificate.issuer] or certificates[
        :1
    ]
    return b"".join(certificate.public_bytes(Encoding.PEM) for certificate in kept)


def _signer():
    import c2pa

    certificate = _chain_without_anchor(pem_read(settings.SEED_C2PA_CERT, "certificate chain"))
    key = pem_read(settings.SEED_C2PA_KEY, "private key")
    try:
        return c2pa.Signer.from_info(
            c2pa.C2paSignerInfo(
                alg=settings.SEED_C2PA_ALG.encode(),
                sign_cert=certificate,
                private_key=key,
                ta_url=settings.SEED_C2PA_TSA_URL or None,
            )
        )
    except c2pa.C2paError as exc:
        raise SigningFailed(
            f"the C2PA signer could not be made from the configured key and certificate: {exc}"
        ) from exc


@dataclass(frozen=True)
class Ingredient:
    title: str
    relationship: str  # parentOf | componentOf | inputTo
    media_type: str
    data: bytes
    label: str

    @property
    def definition(self) -> dict:
        return {"title": self.title, "relationship": self.relationship, "label": self.label, "instance_id": self.label}


@dataclass(frozen=True)
class ArchivedIngredient:
    """An ingredient read once (hash, validation results, its own manifest store) for many manifests."""

    archive: bytes


def ingredient_archive(*, ingredient: Ingredient) -> ArchivedIngredient:
    """Read `ingredient` once, so every variant of a delivery cites its master without re-hashing a 4096² file."""
    import c2pa

    builder = c2pa.Builder({"claim_generator_info": [GENERATOR]}, c2pa_context())
    try:
        builder.add_ingredient(ingredient.definition, ingredient.media_type, io.BytesIO(ingredient.data))
        archive = io.BytesIO()
        builder.write_ingredient_archive(ingredient.label, archive)
    except c2pa.C2paError as exc:
        raise SigningFailed(
            f"the C2PA ingredient {ingredient.title!r} could not be read: {exc}", extra={"code": "signing_failed"}
        ) from exc
    return ArchivedIngredient(archive=archive.getvalue())


# CAWG's training and data mining assertion: one entry per use, each allowed, notAllowed or constrained.
TRAINING_MINING_USES = ("cawg.ai_inference", "cawg.ai_generative_training", "cawg.ai_training", "cawg.data_mining")


def training_mining(*, use: str, constraint: str = "") -> dict:
    entry = {"use": use, **({"constraint_info": constraint} if use == "constrained" and constraint else {})}
    return {"entries": {name: dict(entry) for name in TRAINING_MINING_USES}}


def manifest_build(
    *,
    title: str,
    media_type: str,
    actions: list[dict],
    lineage: dict,
    approval: dict | None = None,
    ai_use: dict | None = None,
    soft_binding: ContentCode | None = None,
) -> dict:
    """The manifest: actions, our lineage summary, and for a delivered file the sign-off it carries
    (`com.seed.approval`), what AI crawlers may do with it (`cawg.training-mining`) and the soft binding that finds
    this manifest again in Seed's repository once a platform has stripped it (`c2pa.soft-binding`)."""
    assertions = [{"label": "c2pa.actions.v2", "data": {"actions": actions}}, {"label": LINEAGE_LABEL, "data": lineage}]
    if approval is not None:
        assertions.append({"label": APPROVAL_LABEL, "data": approval})
    if ai_use is not None:
        assertions.append({"label": TRAINING_MINING_LABEL, "data": ai_use})
    if soft_binding is not None:
        block = {"scope": {}, "value": soft_binding.iscc}
        assertions.append({"label": SOFT_BINDING_LABEL, "data": {"alg": ISCC_ALG, "blocks": [block]}})
    return {"claim_generator_info": [GENERATOR], "title": title, "format": media_type, "assertions": assertions}


@dataclass(frozen=True)
class Signed:
    path: Path  # the temporary file: the caller renames it into place
    store: bytes  # the manifest store as signed (application/c2pa), for the repository
    manifest_id: str  # the active manifest's label


def sign_to_temp(
    *, data: bytes, media_type: str, manifest: dict, ingredients: list[Ingredient | ArchivedIngredient], directory: Path
) -> Signed:
    """Sign `data` into a new temporary file in `directory`, read it back, and keep it only if it is Trusted; on any
    failure nothing is left."""
    import c2pa

    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix=".signing-")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            builder = c2pa.Builder(manifest, c2pa_context())
            for ingredient in ingredients:
                if isinstance(ingredient, ArchivedIngredient):
                    builder.add_ingredient_from_archive(io.BytesIO(ingredient.archive))
                else:
                    builder.add_ingredient(ingredient.definition, ingredient.media_type, io.BytesIO(ingredient.data))
            store = builder.sign(_signer(), media_type, io.BytesIO(data), out)
            out.flush()
            os.fsync(out.fileno())
        report = manifest_read(data=path.read_bytes(), media_type=media_type)
        if report.state != "trusted":
            raise SigningFailed(
                f"the signed file reads back as {report.state}, not trusted: "
                f"{', '.join(report.codes) or 'no reason given'}",
                extra={"code": "signing_untrusted", "validation": report.codes},
            )
        return Signed(path=path, store=bytes(store), manifest_id=report.manifest["label"])
    except c2pa.C2paError as exc:
        path.unlink(missing_ok=True)
        raise SigningFailed(f"C2PA signing failed: {exc}", extra={"code": "signing_failed"}) from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise
