"""Signing for the web process, in a child process: `python -m delivery.signing_child FOLDER`.

The web process never loads c2pa (a native library; see delivery.provenance), yet an export for retouching is
signed while its requester waits. So the web process writes the unsigned file, its ingredients and a request
(the manifest, and the signer's settings as this process has them) into a private folder, and a child signs with
delivery.signing exactly as the worker does: read back, kept only if Trusted. The child configures Django's settings
from the request alone; it touches no database.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from delivery.provenance import SigningFailed

SIGN_TIMEOUT_SECONDS = 120
# The settings delivery.signing reads, passed to the child as they are here (tests and deployments change them).
SIGNER_SETTINGS = ("SEED_C2PA_CERT", "SEED_C2PA_KEY", "SEED_C2PA_TRUST_ANCHORS", "SEED_C2PA_ALG", "SEED_C2PA_TSA_URL")


@dataclass(frozen=True)
class SignedCopy:
    data: bytes
    store: bytes  # the manifest store as signed (application/c2pa)
    manifest_id: str


def sign_isolated(*, data: bytes, media_type: str, manifest: dict, ingredients: list) -> SignedCopy:
    """Sign `data` with `manifest` and `ingredients` (delivery.signing.Ingredient) in a child process."""
    staging = Path(settings.SEED_STAGING_DIR)
    staging.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=staging, prefix="signing-") as name:
        folder = Path(name)
        (folder / "unsigned").write_bytes(data)
        for index, ingredient in enumerate(ingredients):
            (folder / f"ingredient-{index}").write_bytes(ingredient.data)
        request = {
            "media_type": media_type,
            "manifest": manifest,
            "ingredients": [
                {"title": i.title, "relationship": i.relationship, "media_type": i.media_type, "label": i.label}
                for i in ingredients
            ],
            "settings": {key: str(getattr(settings, key) or "") for key in SIGNER_SETTINGS},
        }
        (folder / "request.json").write_text(json.dumps(request))
        try:
            child = subprocess.run(
                [sys.executable, "-m", "delivery.signing_child", str(folder)],
                capture_output=True,
                cwd=settings.BASE_DIR,
                timeout=SIGN_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise SigningFailed(f"C2PA signing took longer than {SIGN_TIMEOUT_SECONDS} s") from exc
        answer = _answer(child)
        return SignedCopy(
            data=(folder / "signed").read_bytes(),
            store=(folder / "store.c2pa").read_bytes(),
            manifest_id=answer["manifest_id"],
        )


def _answer(child: subprocess.CompletedProcess) -> dict:
    try:
        answer = json.loads(child.stdout)
    except ValueError:
        reason = (child.stderr.decode(errors="replace").strip().splitlines() or [f"exit {child.returncode}"])[-1]
        raise SigningFailed(f"C2PA signing stopped: {reason[:300]}", extra={"code": "signing_failed"}) from None
    if "error" in answer:
        raise SigningFailed(answer["error"], extra=answer.get("extra") or {})
    return answer


def main(argv: list[str] | None = None) -> int:
    folder = Path((argv or sys.argv[1:])[0])
    request = json.loads((folder / "request.json").read_text())
    settings.configure(**{key: value or None for key, value in request["settings"].items()})
    from assets.errors import ApplicationError
    from delivery.signing import Ingredient, sign_to_temp

    ingredients = [
        Ingredient(data=(folder / f"ingredient-{index}").read_bytes(), **item)
        for index, item in enumerate(request["ingredients"])
    ]
    try:
        signed = sign_to_temp(
            data=(folder / "unsigned").read_bytes(),
            media_type=request["media_type"],
            manifest=request["manifest"],
            ingredients=ingredients,
            directory=folder,
        )
    except ApplicationError as exc:
        json.dump({"error": exc.message, "extra": exc.extra}, sys.stdout)
        return 1
    signed.path.replace(folder / "signed")
    (folder / "store.c2pa").write_bytes(signed.store)
    json.dump({"manifest_id": signed.manifest_id}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
