"""The EU AI Act's marking of delivered files (Art. 50): what the IPTC AI fields say of the master's lineage, and the
QC check that a file a channel or client requires to be marked will carry every mark.

The marks are the C2PA manifest, its soft binding (the ISCC content code) and the IPTC 2025.1 AI fields in the XMP;
the check reads what will be written before anything is signed, so a delivery that cannot mark its files stops as QC
stops any other, and a producer may override it with a reason.
"""

from __future__ import annotations

from importlib.util import find_spec

from django.conf import settings

from assets.models import Derivation, ModelWeights, Prompt
from assets.operations import COMPOSITE_SYNTHETIC, COMPOSITE_TRAINED, TRAINED, operation_find
from delivery.keys import signing_problems
from delivery.models import ChannelPreset
from delivery.provenance import Stamp

GENERATIVE = (TRAINED, COMPOSITE_TRAINED)
# The IPTC fields that say a file is AI media and which system made it; the prompt is the client's to keep in.
REQUIRED_FIELDS = ("DigitalSourceType", "AISystemUsed", "AISystemVersionUsed", "AIPromptWriterName")


def digital_source_type_of(chain: list[Derivation]) -> str | None:
    """How the delivered pixels came to be, in IPTC's words: generated, edited with generative AI (inpaint, outpaint),
    or a composite with generative AI elements when an outside file (a retouch, a placed photo) entered the chain after
    the generation; None without a generative step."""
    declared = [operation_find(derivation.op) for derivation in chain]
    sources = [spec.digital_source_type if spec else None for spec in declared]
    first = next((index for index, source in enumerate(sources) if source in GENERATIVE), None)
    if first is None:
        return None
    # An opened outside file is the work of people, not of the model: the pixels are no longer all generated.
    if any(spec is not None and spec.c2pa_action == "c2pa.opened" for spec in declared[first + 1 :]):
        return COMPOSITE_SYNTHETIC
    return COMPOSITE_TRAINED if COMPOSITE_TRAINED in sources else TRAINED


def model_version_of(weights: ModelWeights) -> str:
    """What the registry knows of a model's version, for AISystemVersionUsed: the version its source gave, its
    architecture, and the AutoV2 hash that tells two files of the same name apart."""
    parts = [weights.source_version, weights.get_architecture_display(), f"sha256 {weights.short_hash}"]
    return ", ".join(part for part in parts if part)


def prompt_writer_of(prompt: Prompt) -> str:
    """Who wrote a prompt, for AIPromptWriterName: its template's author where Seed recorded one, else the studio."""
    author = prompt.template.created_by if prompt.template_id else None
    if author is None:
        return settings.SEED_STUDIO_NAME
    return author.get_full_name() or author.get_username()


def disclosure_check(*, preset: ChannelPreset, client, stamp: Stamp) -> dict | None:
    """The QC check of a file the preset or the master's client requires to be marked as AI media; None where neither
    does. `stamp` is what the file's EXIF and XMP will say on this preset."""
    required_by = [
        who
        for who, required in (("preset", preset.disclosure_required), ("client", client.requires_ai_disclosure))
        if required
    ]
    if not required_by:
        return None
    missing = _marks_missing(stamp=stamp)
    return {
        "check": "ai_disclosure",
        "passed": not missing,
        "value": len(missing),
        "limit": 0,
        "required_by": required_by,
        "missing": missing,
        "detail": "; ".join(missing)
        or "the file will carry a signed C2PA manifest, its soft binding and the IPTC AI fields",
    }


def _marks_missing(*, stamp: Stamp) -> list[str]:
    missing = [
        f"no C2PA manifest: the signer cannot sign ({setting}: {problem})"
        for setting, problem in signing_problems().items()
    ]
    if find_spec("iscc_core") is None:
        missing.append("no soft binding: iscc-core, which computes the ISCC content code, is not installed")
    fields = stamp.ai_fields
    absent = [name for name in REQUIRED_FIELDS if not fields[name]]
    if not absent:
        return missing
    names = ", ".join(f"Iptc4xmpExt:{name}" for name in absent)
    if stamp.digital_source_type is None:
        reason = "the master's lineage records no generation by an AI model (override if it holds no AI)"
    elif not stamp.ai_system:
        reason = "the base model has no name: name it in admin → Model weights"
    else:
        reason = "the studio has no name (SEED_STUDIO_NAME)"
    missing.append(f"no IPTC AI fields {names}: {reason}")
    return missing
