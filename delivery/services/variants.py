"""One delivered file per rendition: its name, its pixels in the preset's colour space, and what its C2PA claim says
of how it was made. The delivery task (delivery.services.deliveries) encodes and signs them on its threads."""

from __future__ import annotations

from PIL import Image

from assets import colour
from assets.models import Version
from assets.services.blobs import blob_open
from delivery import provenance, renditions
from delivery.models import ChannelPreset, Delivery
from generation import finishing_ops


def variant_names_choose(*, delivery: Delivery, master: Version, rendered, facts, when, seed) -> list[tuple]:
    """(rendition, its QC facts, its file name) for each rendition, named in order: a clash takes a suffix."""
    taken: set[str] = set()
    planned = []
    for item, fact in zip(rendered, facts, strict=True):
        preset = item.preset
        dominant = colour.hex_rgb(fact["dominant"])
        brand = (
            colour.nearest_palette_colour(dominant, master.brief.palette)[0]
            if master.brief.palette
            else fact["dominant"]
        )
        name = renditions.file_name(
            template=delivery.name_template,
            extension=preset.extension,
            taken=taken,
            values={
                "yyyymmdd": when.strftime("%Y%m%d"),
                "section": preset.section,
                "colour": colour.colour_name(colour.hex_rgb(brand)),
                "seed": seed if seed is not None else "noseed",
                "preset": preset.slug,
                "version": f"v{master.pk}",
                "width": preset.width,
                "height": preset.height,
                "client": master.brief.campaign.client.name,
                "brief": master.brief.title,
            },
        )
        planned.append((item, fact, name))
    return planned


def print_profiles_read(*, rendered) -> dict:
    """The print profile of each CMYK rendition's preset, read once for every thread that converts through it."""
    print_profiles = {}
    for item in rendered:
        if (
            item.preset.colour_profile == ChannelPreset.Profile.CMYK
            and item.preset.print_profile_id not in print_profiles
        ):
            with blob_open(blob=item.preset.print_profile) as handle:
                print_profiles[item.preset.print_profile_id] = handle.read()
    return print_profiles


def variant_colour_convert(*, item: renditions.Rendered, print_profiles: dict) -> tuple[Image.Image, bytes | None]:
    """The rendition's pixels in its preset's colour space, and the ICC profile to embed (None: untagged)."""
    preset = item.preset
    pixels, icc = item.image, provenance.srgb_icc() if preset.colour_profile == ChannelPreset.Profile.SRGB else None
    if preset.colour_profile == ChannelPreset.Profile.CMYK:
        icc = print_profiles[preset.print_profile_id]
        pixels = finishing_ops.cmyk_convert(
            colour.on_white(item.image), profile_data=icc, intent=preset.rendering_intent
        )
    return pixels, icc


def variant_actions_build(
    *, item: renditions.Rendered, chain_steps: list[dict], master: Version, focal, delivery: Delivery
) -> list[dict]:
    """The claim's actions: the recorded chain, then the crop and resize that made this file, and its publication."""
    preset = item.preset
    actions = list(chain_steps)
    if item.crop != (0, 0, master.width, master.height):
        actions.append(
            {"action": "c2pa.cropped", "description": f"around the focal point {focal}: box {list(item.crop)}"}
        )
    actions.append({"action": "c2pa.resized", "description": f"to {preset.width}x{preset.height} for {preset.name}"})
    if preset.kind == ChannelPreset.Kind.PRESENTATION:
        actions.append({"action": "c2pa.edited", "description": "laid out on a presentation slate with its recipe"})
    if preset.ai_label_placement:
        actions.append(
            {
                "action": "c2pa.edited",
                "description": f"visible label {preset.ai_label_text.strip()!r} drawn "
                f"({preset.get_ai_label_placement_display().lower()})",
            }
        )
    actions.append({"action": "c2pa.published", "description": f"delivery {delivery.pk}, preset {preset.slug}"})
    return actions


def variant_lineage_build(*, item: renditions.Rendered, name: str, carried: dict, delivery: Delivery) -> dict:
    """The lineage the master's claims carry, with this file's place in the delivery."""
    preset = item.preset
    return {
        **carried,
        "delivery_id": delivery.pk,
        "preset": preset.slug,
        "variant": {
            "width": preset.width,
            "height": preset.height,
            "format": preset.format,
            "crop": list(item.crop),
            "file_name": name,
        },
    }
