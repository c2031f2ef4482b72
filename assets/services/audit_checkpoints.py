"""Signed checkpoints of the audit chain's head, kept outside the database.

The hash chain shows an edited or removed event in the middle, but whoever can delete rows can
also delete the newest ones and leave a shorter chain that still verifies. A checkpoint (event
count, head id and hash, time) signed with the studio's signing key and written to a folder the
database cannot touch anchors the chain: `audit_verify` finds deletions at the tail against it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from assets.errors import ApplicationError
from assets.services.queues import Queue, schedule_ensure

FORMAT = "seed-audit-checkpoint"


@dataclass(frozen=True)
class Checkpoint:
    count: int
    head_id: int | None
    head_hash: str | None
    created_at: str
    path: Path


def _canonical(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _signing_material():
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(Path(settings.SEED_C2PA_KEY).read_bytes(), password=None)
        certificate = x509.load_pem_x509_certificates(Path(settings.SEED_C2PA_CERT).read_bytes())[0]
    except (OSError, ValueError, TypeError) as exc:
        raise ApplicationError(
            f"the studio signing key or certificate (SEED_C2PA_KEY, SEED_C2PA_CERT) is not usable: {exc}",
            extra={"code": "signing_unconfigured"},
        ) from exc
    return key, certificate


def _fingerprint(certificate) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()


def _scheme(key) -> tuple:
    """The padding and hash arguments that sign and verify take for this kind of key (private or public)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return (ec.ECDSA(hashes.SHA256()),)
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return ()
    raise ApplicationError(f"audit checkpoints cannot be signed or checked with a {type(key).__name__}")


def _sign(key, data: bytes) -> bytes:
    return key.sign(data, *_scheme(key))


def _signature_valid(public_key, signature: bytes, data: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        public_key.verify(signature, data, *_scheme(public_key))
    except InvalidSignature:
        return False
    return True


def chain_head() -> tuple[int, int | None, str | None]:
    """(events, newest id, newest hash), read in one statement so the three agree."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), max(id), (SELECT hash FROM review_auditevent ORDER BY id DESC LIMIT 1) "
            "FROM review_auditevent"
        )
        return cursor.fetchone()


def audit_checkpoint_write() -> Checkpoint:
    """Sign the chain's head and write it as a new file in SEED_AUDIT_CHECKPOINT_DIR (temp name, then rename)."""
    key, certificate = _signing_material()
    count, head_id, head_hash = chain_head()
    created = timezone.now()
    body = {
        "format": FORMAT,
        "version": 1,
        "studio": settings.SEED_STUDIO_NAME,
        "count": count,
        "head_id": head_id,
        "head_hash": head_hash,
        "created_at": created.isoformat(),
        "signer_sha256": _fingerprint(certificate),
    }
    document = {"checkpoint": body, "signature": base64.b64encode(_sign(key, _canonical(body))).decode()}
    folder = Path(settings.SEED_AUDIT_CHECKPOINT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"audit-{created:%Y%m%dT%H%M%S%fZ}-{count}.json"
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".checkpoint-")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temp, path)  # never replaces an existing checkpoint
    finally:
        os.unlink(temp)
    return Checkpoint(count=count, head_id=head_id, head_hash=head_hash, created_at=body["created_at"], path=path)


def checkpoint_latest() -> Checkpoint | None:
    """The newest checkpoint whose signature the configured certificate verifies;
    a forged or damaged one is an error."""
    folder = Path(settings.SEED_AUDIT_CHECKPOINT_DIR)
    paths = sorted(folder.glob("audit-*.json")) if folder.is_dir() else []
    if not paths:
        return None
    _, certificate = _signing_material()
    newest = None
    for path in paths:
        try:
            document = json.loads(path.read_text())
            body, signature = document["checkpoint"], base64.b64decode(document["signature"], validate=True)
            checkpoint = Checkpoint(
                count=int(body["count"]),
                head_id=body["head_id"],
                head_hash=body["head_hash"],
                created_at=str(body["created_at"]),
                path=path,
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ApplicationError(
                f"audit checkpoint {path.name} is unreadable: {exc}", extra={"code": "checkpoint_damaged"}
            ) from exc
        if body.get("format") != FORMAT or not _signature_valid(certificate.public_key(), signature, _canonical(body)):
            raise ApplicationError(
                f"audit checkpoint {path.name} is not signed by the configured studio key",
                extra={"code": "checkpoint_forged"},
            )
        if newest is None or (checkpoint.count, checkpoint.created_at) >= (newest.count, newest.created_at):
            newest = checkpoint
    return newest


def checkpoint_problem(checkpoint: Checkpoint) -> str | None:
    """Why the database's chain no longer contains the checkpointed head, or None."""
    count, _, _ = chain_head()
    if count < checkpoint.count:
        return (
            f"events were deleted: the checkpoint of {checkpoint.created_at} signed {checkpoint.count} event(s), "
            f"the database holds {count}"
        )
    if checkpoint.count == 0:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, hash FROM review_auditevent ORDER BY id OFFSET %s LIMIT 1", [checkpoint.count - 1])
        row = cursor.fetchone()
    if row != (checkpoint.head_id, checkpoint.head_hash):
        return (
            f"the chain was rewritten: event {checkpoint.count} of the checkpoint of {checkpoint.created_at} was "
            f"#{checkpoint.head_id} {str(checkpoint.head_hash)[:12]}, the database has #{row[0]} {row[1][:12]}"
        )
    return None


SCHEDULE_NAME = "seed: daily audit checkpoint"


def checkpoint_schedule_ensure(**kwargs) -> None:
    """One daily django-q2 schedule for the checkpoint, made on migrate; running migrate again changes nothing."""
    from django_q.models import Schedule

    schedule_ensure(
        name=SCHEDULE_NAME, func="assets.tasks.audit_checkpoint", queue=Queue.CPU, schedule_type=Schedule.DAILY
    )
