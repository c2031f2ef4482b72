"""Delivery's machine-read checks on a version (assets.hooks.version_checks): what its print presets, print profiles
and the brief's palette will make of it, measured by the code a delivery and the soft proof use, as suggestions on
the review checklist. Each key names what the measure depends on besides the pixels."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import storages
from PIL import Image

from assets import colour
from assets.machine_checks import Finding
from assets.models import Version, VersionCheck
from delivery import proofing, renditions
from delivery.selectors import proof_presets, slots_plan
from delivery.services.proofs import master_pixels, png_content, proof_ensure

# Within this share above the preset's least ppi, a print is worth a look: one crop or size change from failing.
PPI_MARGIN = 0.10
# Out-of-gamut shares (percent of pixels): a speck of neon is normal, a fifth of the picture changes how it reads.
GAMUT_PASS_PERCENT = 1.0
GAMUT_FAIL_PERCENT = 15.0
ARTEFACT_LONGEST = 1024
Verdict = VersionCheck.Verdict


def print_ppi_findings(version: Version) -> list[Finding]:
    """Effective ppi at each active print preset's size."""
    findings = []
    for slot in slots_plan(version=version):
        preset = slot.preset
        if slot.ppi is None:
            continue
        verdict = (
            Verdict.FAIL
            if slot.ppi < preset.min_ppi
            else Verdict.WARN
            if slot.ppi < preset.min_ppi * (1 + PPI_MARGIN)
            else Verdict.PASS
        )
        findings.append(
            Finding(
                key=f"print_ppi:{preset.slug}:{preset.width}x{preset.height}@{preset.print_width_mm:g}mm"
                f":min{preset.min_ppi}",
                kind="ppi",
                label=f"Effective ppi at {preset.name}",
                verdict=verdict,
                detail=f"{slot.ppi:.0f} real pixels per inch at {preset.print_width_mm:g} mm wide "
                f"(at least {preset.min_ppi})",
                measure={
                    "ppi": round(slot.ppi, 1),
                    "min_ppi": preset.min_ppi,
                    "print_width_mm": preset.print_width_mm,
                    "enlargement": round(slot.enlargement, 3),
                },
            )
        )
    return findings


def gamut_findings(version: Version) -> list[Finding]:
    """Out-of-gamut share for each print profile the active presets convert through (the soft proof's measure)."""
    findings, seen = [], set()
    for preset in proof_presets():
        key = f"gamut:{preset.print_profile_id}:{preset.rendering_intent}"
        if key in seen:
            continue
        seen.add(key)
        files = proof_ensure(
            version=version, preset=preset, intent=preset.rendering_intent, black_point=True, paper_white=False
        )
        percent = files.out_of_gamut_percent
        verdict = (
            Verdict.PASS
            if percent <= GAMUT_PASS_PERCENT
            else Verdict.WARN
            if percent <= GAMUT_FAIL_PERCENT
            else Verdict.FAIL
        )
        with storages["derived"].open(files.gamut, "rb") as handle, Image.open(handle) as warning:
            warning.thumbnail((ARTEFACT_LONGEST, ARTEFACT_LONGEST), Image.Resampling.NEAREST)
            artefact = png_content(warning).read()
        findings.append(
            Finding(
                key=key,
                kind="gamut",
                label=f"Out of gamut for {preset.name}",
                verdict=verdict,
                detail=f"{percent:g} % of the pixels print more than ΔE2000 {proofing.GAMUT_DELTA_E:g} away from "
                f"the screen ({preset.get_rendering_intent_display().lower()}, black point compensation)",
                measure={"out_of_gamut_percent": percent, "intent": preset.rendering_intent},
                artefact=artefact,
            )
        )
    return findings


def brand_colour_findings(version: Version) -> list[Finding]:
    """Brand colours present: the share of pixels near the brief's palette, as delivery QC measures it."""
    palette = version.brief.palette
    if not palette:
        return []
    sample = colour.colour_sample(master_pixels(version=version))
    check = renditions.brand_palette_check(sample=sample, palette=palette)
    within, least = settings.SEED_QC_PALETTE_DELTA_E, settings.SEED_QC_PALETTE_MIN_SHARE
    return [
        Finding(
            key=f"brand_colours:{'-'.join(c.lstrip('#').upper() for c in palette)}:de{within:g}:min{least:g}",
            kind="brand_colours",
            label="Brand colours present",
            verdict=Verdict.PASS if check["passed"] else Verdict.FAIL,
            detail=f"{check['value']:.1%} of the pixels within ΔE2000 {within:g} of a brand colour "
            f"(delivery QC asks {least:.0%})",
            measure={"in_palette_share": check["value"], "min_share": least, "coverage": check["coverage"]},
        )
    ]
