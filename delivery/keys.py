"""A local development CA and C2PA signer, made at set-up: ES256, root CA -> signer certificate.

The signer certificate carries what C2PA validators insist on: key usage digitalSignature, extended
key usage emailProtection (documentSigning is refused by default settings), and subject/authority key
identifiers (without them signing fails with "the certificate is invalid"). The key is PKCS#8 PEM.
Production deployments point SEED_C2PA_CERT / SEED_C2PA_KEY / SEED_C2PA_TRUST_ANCHORS at real ones.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

ROOT_NAME = "root.pem"
CHAIN_NAME = "signer-chain.pem"
KEY_NAME = "signer-key.pem"


def _write(path: Path, data: bytes, mode: int) -> None:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(name, mode)
    os.replace(name, path)


def dev_ca_create(
    *, folder: Path, organisation: str = "Seed development studio", force: bool = False
) -> dict[str, Path]:
    """Write root.pem, signer-chain.pem and signer-key.pem into `folder`; existing files are kept unless `force`."""
    from cryptography.hazmat.primitives import serialization

    folder = Path(folder)
    paths = {"root": folder / ROOT_NAME, "chain": folder / CHAIN_NAME, "key": folder / KEY_NAME}
    if not force and all(path.exists() for path in paths.values()):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    now = dt.datetime.now(dt.UTC)
    root_key, root = _root_create(organisation=organisation, now=now)
    signer_key, signer = _signer_create(root_key=root_key, root=root, organisation=organisation, now=now)
    pem = serialization.Encoding.PEM
    _write(
        paths["key"],
        signer_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        0o600,
    )
    _write(paths["chain"], signer.public_bytes(pem) + root.public_bytes(pem), 0o644)
    _write(paths["root"], root.public_bytes(pem), 0o644)
    return paths


def _root_create(*, organisation: str, now: dt.datetime):
    """The root CA's key and its self-signed certificate, good for ten years."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    root_key = ec.generate_private_key(ec.SECP256R1())
    root = (
        x509.CertificateBuilder()
        .subject_name(_name("Seed dev root CA", organisation=organisation))
        .issuer_name(_name("Seed dev root CA", organisation=organisation))
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(sign_certs=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    return root_key, root


def _signer_create(*, root_key, root, organisation: str, now: dt.datetime):
    """The C2PA signer's key and its certificate, issued by the root for two years."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer = (
        x509.CertificateBuilder()
        .subject_name(_name("Seed dev C2PA signer", organisation=organisation))
        .issuer_name(root.subject)
        .public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=730))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(sign_certs=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    return signer_key, signer


def _name(common: str, *, organisation: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        ]
    )


def _usage(*, sign_certs: bool):
    from cryptography import x509

    return x509.KeyUsage(
        digital_signature=not sign_certs,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=sign_certs,
        crl_sign=sign_certs,
        encipher_only=False,
        decipher_only=False,
    )


def _pem_problem(path: Path, parse) -> str | None:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return f"{path} cannot be read ({exc.strerror or exc})"
    if not data.strip():
        return f"{path} is empty"
    try:
        parse(data)
    except (ValueError, TypeError) as exc:
        return f"{path} is not usable PEM ({exc})"
    return None


def _certificates(data: bytes):
    from cryptography import x509

    return x509.load_pem_x509_certificates(data)


def _private_key(data: bytes):
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(data, password=None)


def trust_anchors_problem() -> str | None:
    """What makes the configured trust anchors unusable (unreadable, empty, not PEM certificates), or None."""
    from django.conf import settings

    return _pem_problem(settings.SEED_C2PA_TRUST_ANCHORS, _certificates)


def signing_problems() -> dict[str, str]:
    """{setting name: what is wrong with the file it names} for the C2PA signer and trust anchors; empty when usable."""
    from django.conf import settings

    found = {
        setting: _pem_problem(getattr(settings, setting), parse)
        for setting, parse in (
            ("SEED_C2PA_CERT", _certificates),
            ("SEED_C2PA_KEY", _private_key),
            ("SEED_C2PA_TRUST_ANCHORS", _certificates),
        )
    }
    return {setting: problem for setting, problem in found.items() if problem}
