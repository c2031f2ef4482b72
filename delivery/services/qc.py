"""Rendering every preset and checking it before anything is signed: each rendition's QC facts, the rights the
master inherits, and the block a delivery takes when they fail and no producer overrode them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.utils import timezone
from PIL import Image

from assets.models import Version
from assets.rights import rights_problems
from assets.services.runs import run_fail
from delivery import renditions
from delivery.ai_label import label_apply
from delivery.models import ChannelPreset, Delivery
from delivery.services.disclosure import disclosure_check
from delivery.services.lineage_facts import recipe_lines
from delivery.services.stamps import by_exposure, stamp_build


def renditions_check(
    *,
    master: Version,
    master_image: Image.Image,
    presets: list[ChannelPreset],
    focal,
    approval,
    recipe,
    chain,
    upscaled_by,
) -> tuple[list[renditions.Rendered], list[dict]]:
    """Every preset's rendition (a presentation's on its slate, with the visible AI label where the preset asks) and its
    QC facts, the AI marking a preset or client requires among them, made on the delivery threads."""
    slates = by_exposure(presets, lambda e: _slate(master=master, approval=approval, recipe=recipe, exposure=e))
    now = timezone.now()
    stamps = by_exposure(
        presets, lambda e: stamp_build(master=master, recipe=recipe, chain=chain, when=now, exposure=e)
    )
    client = master.brief.campaign.client
    palette = master.brief.palette
    halved = renditions.halved_master(master_image, presets)

    def render_checked(preset: ChannelPreset) -> tuple[renditions.Rendered, dict]:
        item = renditions.render(
            master=master_image, preset=preset, focal=focal, slate=slates[preset.pk], halved=halved
        )
        label = label_apply(item=item)  # before the facts, so QC measures the pixels delivered
        fact = renditions.qc_facts(rendered=item, palette=palette, upscaled_by=upscaled_by)
        marked = [c for c in (label, disclosure_check(preset=preset, client=client, stamp=stamps[preset.pk])) if c]
        fact["checks"] += marked
        # What the file's XMP will say (names only: the facts reach client reviewers, the prompt may not).
        fact["iptc_ai_fields"] = [name for name, value in stamps[preset.pk].ai_fields.items() if value]
        fact["passed"] = fact["passed"] and all(check["passed"] for check in marked)
        return item, fact

    with ThreadPoolExecutor(max_workers=settings.SEED_DELIVERY_THREADS) as pool:
        checked = list(pool.map(render_checked, presets))
    return [item for item, _ in checked], [fact for _, fact in checked]


def _slate(*, master: Version, approval, recipe, exposure: str) -> dict:
    """What the presentation slate prints beside the image: the brief, the master, its approval and as much of its
    recipe as the preset lets out."""
    return {
        "title": master.brief.title,
        "palette": master.brief.palette,
        "lines": [
            f"{master.brief.campaign} · version v{master.pk} · sha256 {master.blob_id[:16]}",
            f"Approved in round {approval.review_round.number} on {approval.created_at:%Y-%m-%d}",
            *recipe_lines(recipe, exposure=exposure),
        ],
    }


def rights_check(*, inherited, master: Version) -> dict:
    """The QC check of the licences the master inherits: commercial work needs commercial terms, and none may have
    run out by today; blocked like any QC failure, and a producer may override it with a reason."""
    problems = rights_problems(rights=inherited, brief=master.brief, on=timezone.localdate())
    return {
        "check": "rights",
        "passed": not problems,
        "value": len(problems),
        "limit": 0,
        "problems": problems,
        "licences": [item.licence.name for item in inherited],
        "detail": "; ".join(problem["detail"] for problem in problems)
        or (f"{len(inherited)} inherited licence(s) allow this use" if inherited else "no licence recorded upstream"),
    }


def qc_block(*, delivery: Delivery, facts: list[dict]) -> None:
    """The delivery stops, blocked, naming each preset's failed checks, until a producer overrides QC."""
    failed = [
        f"{fact['preset']}: {', '.join(c['check'] for c in fact['checks'] if not c['passed'])}"
        for fact in facts
        if not fact["passed"]
    ]
    run_fail(
        row=delivery,
        message="QC failed (a producer may override with a reason): " + "; ".join(failed),
        state=Delivery.State.BLOCKED,
        qc=facts,
    )
