"""A file's C2PA manifest store read without Django: in-process on the worker, and as a child process
(`python -m assets.c2pa_reading MEDIA_TYPE [--trust-anchors PEM] < FILE`, JSON on stdout) for the
web process, which must not load c2pa, and where a hostile file that breaks the native reader must
take down only that child.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import subprocess
import sys
from pathlib import Path

logger = logging.getLogger(__name__)

# A manifest that takes the reader longer than this is treated as unreadable (a hostile file).
READ_TIMEOUT_SECONDS = 60
LINEAGE_LABEL = "com.seed.lineage"
APPROVAL_LABEL = "com.seed.approval"
TRAINING_MINING_LABEL = "cawg.training-mining"
SOFT_BINDING_LABEL = "c2pa.soft-binding"


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
    """{state: trusted | valid_untrusted | invalid | absent, codes, lineage, manifest} of the active manifest, and
    its `ingredients` with what their own manifests say."""
    import c2pa

    context = c2pa.Context(c2pa.Settings.from_dict(c2pa_settings(trust_anchors=trust_anchors)))
    try:
        reader = c2pa.Reader(media_type, io.BytesIO(data), context=context)
    except c2pa.C2paError as exc:
        if isinstance(exc, (c2pa.C2paError.ManifestNotFound, c2pa.C2paError.NotSupported)):
            return {"state": "absent", "codes": [], "lineage": None, "manifest": None, "ingredients": []}
        return {
            "state": "invalid",
            "codes": [f"unreadable: {exc}"],
            "lineage": None,
            "manifest": None,
            "ingredients": [],
        }
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
    # Any CA can sign an assertion under our label: only an object is read as our lineage.
    lineage = lineage if isinstance(lineage, dict) else None
    verdict = {"trusted": "trusted", "valid": "valid_untrusted"}.get(state, "invalid")
    return {
        "state": verdict,
        "codes": failures,
        "lineage": lineage if verdict != "invalid" else None,
        "manifest": active,
        "ingredients": _ingredients(active_label=store.get("active_manifest"), active=active, results=results),
    }


# Who signed, not whether the claim holds: the SDK keeps a manifest with only these failures Valid.
TRUST_ONLY_CODES = frozenset({"signingCredential.untrusted"})


def _failures(section: dict | None) -> list[str]:
    return [item.get("code", "") for item in (section or {}).get("failure") or []]


def _recorded_failures(results: dict) -> list[str]:
    """What a manifest's validation results say failed: in that manifest, or in its own ingredients."""
    nested = [
        code for delta in results.get("ingredientDeltas") or [] for code in _failures(delta.get("validationDeltas"))
    ]
    return [*_failures(results.get("activeManifest")), *nested]


def _ingredients(*, active_label: str | None, active: dict, results: dict) -> list[dict]:
    """[{title, relationship, manifest, state: valid | invalid | absent, codes}] of the active manifest's ingredients.

    The SDK judges the active manifest alone: an ingredient whose own manifest failed when it was added (a broken
    signature, changed pixels) leaves that verdict Valid. What failed is in the ingredient itself (`validation_status`
    before C2PA 2, `validation_results` since) and in what this reading found (the reader's `ingredientDeltas`, such
    as `ingredient.manifest.missing`); `absent` is an ingredient with no manifest of its own.
    """
    found = {
        delta.get("ingredientAssertionURI"): _failures(delta.get("validationDeltas"))
        for delta in results.get("ingredientDeltas") or []
    }
    listed = []
    for ingredient in active.get("ingredients") or []:
        uri = f"self#jumbf=/c2pa/{active_label}/c2pa.assertions/{ingredient.get('label')}"
        codes = [
            *(item.get("code", "") for item in ingredient.get("validation_status") or []),
            *_recorded_failures(ingredient.get("validation_results") or {}),
            *found.get(uri, []),
        ]
        codes = list(dict.fromkeys(code for code in codes if code))
        manifest = ingredient.get("active_manifest")
        if set(codes) - TRUST_ONLY_CODES:
            state = "invalid"
        else:
            state = "valid" if manifest else "absent"
        listed.append(
            {
                "title": ingredient.get("title"),
                # The spec's default when a claim leaves it out.
                "relationship": ingredient.get("relationship") or "componentOf",
                "manifest": manifest,
                "state": state,
                "codes": codes,
            }
        )
    return listed


def store_read_isolated(*, data: bytes, media_type: str, trust_anchors: Path | None = None) -> dict:
    """`store_read` in a child process: for the web process, which must not load c2pa or die with it. A reader that
    stops or hangs on a hostile file is an `invalid` verdict with the reason, never the caller's crash."""
    command = [sys.executable, "-m", "assets.c2pa_reading", media_type]
    if trust_anchors is not None:
        command += ["--trust-anchors", str(trust_anchors)]
    unreadable = {"state": "invalid", "lineage": None, "manifest": None, "ingredients": []}
    try:
        child = subprocess.run(
            command,
            input=data,
            capture_output=True,
            cwd=Path(__file__).resolve().parent.parent,
            timeout=READ_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {**unreadable, "codes": [f"unreadable: no verdict within {READ_TIMEOUT_SECONDS} s"]}
    if child.returncode != 0:
        reason = (child.stderr.decode(errors="replace").strip().splitlines() or [f"exit status {child.returncode}"])[-1]
        logger.warning("the C2PA reader stopped on a %s file: %s", media_type, reason[:500])
        return {**unreadable, "codes": [f"unreadable: the reader stopped ({reason[:200]})"]}
    return json.loads(child.stdout)


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
