"""The seven channels studios deliver to most. Migration 0002 made them once; the demo puts back any it needs
that is missing (a studio may have deleted one, or a test flushed the table)."""

from __future__ import annotations

from delivery.models import ChannelPreset

DEFAULT_PRESETS = [
    ("square", "Square 1:1", 1080, 1080, "image", "social", "", 1),
    ("vertical", "Vertical 9:16", 1080, 1920, "image", "story", "", 2),
    ("widescreen", "Widescreen 16:9", 1920, 1080, "image", "video", "", 3),
    ("hero", "Hero banner", 2560, 1080, "image", "hero", "#FFFFFF", 4),
    ("social-4x5", "Social crop 4:5", 1080, 1350, "image", "feed", "", 5),
    ("product-card", "Product card", 1200, 1200, "image", "product", "#F5F5F5", 6),
    ("presentation", "Internal presentation", 1920, 1080, "presentation", "deck", "", 7),
]


def default_presets_ensure() -> int:
    """Create the default presets that do not exist (by slug); returns how many were made."""
    made = 0
    for slug, name, width, height, kind, section, background, position in DEFAULT_PRESETS:
        _, created = ChannelPreset.objects.get_or_create(slug=slug, defaults={
            "name": name, "width": width, "height": height, "kind": kind, "section": section,
            "background_colour": background, "position": position})
        made += created
    return made
