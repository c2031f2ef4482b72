"""A file's C2PA manifest store read without Django: in-process on the worker, and as a child process
(`python -m assets.c2pa_reading MEDIA_TYPE [--trust-anchors PEM] < FILE`, JSON on stdout) for the
web process, which must not load c2pa, and where a hostile file that breaks the native reader must
take down only that child.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

LINEAGE_LABEL = "com.seed.lineage"
APPROVAL_LABEL = "com.seed.approval"
TRAINING_MINING_LABEL = "cawg.training-mining"


def c2pa_settings(*, trust_anchors: str | None) -> dict:
    """c2pa settings for signing and reading; without anchors, reading checks integrity only."""
    values = {
        # The default embedded thumbnail would add about 70 % to a 1080² JPEG; the file is its own preview.
        "builder": {"thumbnail": {"enabled": False}},
        "verify": {"verify_trust": trust_anchors is not None},
    }
    if trust_anchors is not None:
        values["trust"] = {"trust_anchors": trust_anchors}
    return values


def store_read(*, data: bytes, media_type: str, trust_anchors: str | None) -> dict:
    """{state: trusted | valid_untrusted | invalid | absent, codes, lineage, manifest} of the active manifest."""
    import c2pa

    context = c2pa.Context(c2pa.Settings.from_dict(c2pa_settings(trust_anchors=trust_anchors)))
    try:
        reader = c2pa.Reader(media_type, io.BytesIO(data), context=context)
    except c2pa.C2paError as exc:
        if isinstance(exc, (c2pa.C2paError.ManifestNotFound, c2pa.C2paError.NotSupported)):
            return {"state": "absent", "codes": [], "lineage": None, "manifest": None}
        return {"state": "invalid", "codes": [f"unreadable: {exc}"], "lineage": None, "manifest": None}
    with reader:
        store = json.loads(reader.json())
        state = (reader.get_validation_state() or "").lower()
        results = reader.get_validation_results() or {}
    active = store.get("manifests", {}).get(store.get("active_manifest"), {})
    failures = [item.get("code", "") for item in (results.get("activeManifest") or {}).get("failure", [])]
    failures += [
        item.get("code", "") for item in store.get("validation_status", []) or [] if item.get("code") not in failures
    ]
    lineage = next((a.get("data") for a in active.get("assertions", []) if a.get("label") == LINEAGE_LABEL), None)
    verdict = {"trusted": "trusted", "valid": "valid_untrusted"}.get(state, "invalid")
    return {
        "state": verdict,
        "codes": failures,
        "lineage": lineage if verdict != "invalid" else None,
        "manifest": active,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Read the C2PA manifest of the file on standard input.")
    parser.add_argument("media_type")
    parser.add_argument("--trust-anchors", type=Path, help="PEM file of trusted roots; without it, integrity only")
    args = parser.parse_args(argv)
    anchors = args.trust_anchors.read_text() if args.trust_anchors else None
    json.dump(store_read(data=sys.stdin.buffer.read(), media_type=args.media_type, trust_anchors=anchors), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
