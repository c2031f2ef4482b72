"""What a delivered file's EXIF, XMP and PNG text say of its master, channel by channel.

A channel's preset decides how much of the recipe leaves in its files (`recipe_exposure`): the full A1111 infotext and
prompt, the seed and base model only, or nothing of it. The IPTC AI fields that mark the file as AI media are written
whatever the exposure; only the prompt among them depends on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

from assets.models import Derivation, Version
from delivery import provenance
from delivery.models import ChannelPreset
from delivery.services.disclosure import digital_source_type_of, model_version_of, prompt_writer_of
from delivery.services.lineage_facts import FULL, PROMPT_WITHHELD

T = TypeVar("T")


def _pairs(pairs: list[tuple[str, object]]) -> str:
    from generation.runner import infotext_value

    return ", ".join(f"{key}: {infotext_value(value)}" for key, value in pairs)


def _parameters(*, master: Version, recipe, chain: list[Derivation], exposure: str) -> str:
    """A1111's infotext with Seed's own fields, as much of it as the channel lets out: `seed_model` keeps the seed and
    the base model, `none` only the fields that find the master in Seed again."""
    from generation.runner import infotext

    full = exposure == FULL
    ours = [("Seed version", f"v{master.pk}"), ("Seed sha256", master.blob_id)]
    if full:
        ours.append(("Seed chain", " > ".join(d.op for d in chain)))
    if recipe is None:
        return f"{master.label or f'version {master.pk}'}\n{_pairs(ours)}"
    seed = master.seed if master.seed is not None else recipe.params["seed"]
    if full:
        ours += [("Model sha256", recipe.base.sha256)]
        ours += [
            (f"Lora {i + 1}", f"{weights.name} sha256 {weights.sha256} weight {weight:g}")
            for i, (weights, weight) in enumerate(recipe.loras)
        ]
        return f"{infotext(recipe=recipe, seed=seed)}, {_pairs(ours)}"
    if exposure == ChannelPreset.RecipeExposure.MODEL_AND_SEED:
        base = recipe.base
        ours = [("Seed", seed), ("Model hash", base.short_hash), ("Model", base.name), *ours]
    return _pairs(ours)


def stamp_build(*, master: Version, recipe, chain: list[Derivation], when, exposure: str = FULL) -> provenance.Stamp:
    """The EXIF/XMP/PNG text of a file for a channel whose recipe exposure is `exposure`: below `full` the prompt is in
    none of it (description, parameters, AIPromptInformation)."""
    described = exposure == FULL and recipe is not None and recipe.prompt.text != PROMPT_WITHHELD
    ai = {"digital_source_type": None, "ai_system": ""}
    if recipe is not None:
        ai = {
            "digital_source_type": digital_source_type_of(chain),
            "ai_system": recipe.base.name,
            "ai_system_version": model_version_of(recipe.base),
            # The prompt as the encoders read it: its LoRA tags and --ar are in the recipe and the parameters.
            "prompt_information": recipe.prompt_text if described else "",
            # A person's name travels only where the channel lets the recipe out (internal hand-offs); elsewhere the
            # studio answers for the prompt, as the approval names organisations, never people.
            "prompt_writer": prompt_writer_of(recipe.prompt) if exposure == FULL else settings.SEED_STUDIO_NAME,
        }
    return provenance.Stamp(
        description=recipe.prompt_text if described else (master.label or master.brief.title),
        parameters=_parameters(master=master, recipe=recipe, chain=chain, exposure=exposure),
        artist=settings.SEED_STUDIO_NAME,
        copyright=f"© {when.year} {master.brief.campaign.client.name}",
        software=f"Seed {provenance.GENERATOR['version']}",
        unique_id=master.blob_id,
        created=when.strftime("%Y:%m:%d %H:%M:%S"),
        **ai,
    )


def by_exposure(presets: list[ChannelPreset], make: Callable[[str], T]) -> dict[int, T]:
    """`make(exposure)` once for each recipe exposure among `presets`, by preset pk: what a file says of its recipe is
    its channel's to decide."""
    made = {exposure: make(exposure) for exposure in {preset.recipe_exposure for preset in presets}}
    return {preset.pk: made[preset.recipe_exposure] for preset in presets}
