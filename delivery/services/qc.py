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
from delivery.models import ChannelPreset, Delivery
from delivery.services.lineage_facts import recipe_lines


def renditions_check(
    *,
    master: Version,
    master_image: Image.Image,
    presets: list[ChannelPreset],
    focal,
    approval,
    recipe,
    upscaled_by,
) -> tuple[list[renditions.Rendered], list[dict]]:
    """Every preset's rendition (a presentation's on its slate) and its QC facts, made on the delivery threads."""
    slate = _slate(master=master, approval=approval, recipe=recipe)
    palette = master.brief.palette
    halved = renditions.halved_master(master_image, presets)

    def render_checked(preset: ChannelPreset) -> tuple[renditions.Rendered, dict]:
        item = renditions.render(master=master_image, preset=preset, focal=focal, slate=slate, halved=halved)
        return item, renditions.qc_facts(rendered=item, palette=palette, upscaled_by=upscaled_by)

    with ThreadPoolExecutor(max_workers=settings.SEED_DELIVERY_THREADS) as pool:
        checked = list(pool.map(render_checked, presets))
    return [item for item, _ in checked], [fact for _, fact in checked]


def _slate(*, master: Version, approval, recipe) -> dict:
    """What the presentation slate prints beside the image: the brief, the master, its approval and its recipe."""
    return {
        "title": master.brief.title,
        "palette": master.brief.palette,
        "lines": [
            f"{master.brief.campaign} · version v{master.pk} · sha256 {master.blob_id[:16]}",
            f"Approved in round {approval.review_round.number} on {approval.created_at:%Y-%m-%d}",
            *recipe_lines(recipe),
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
