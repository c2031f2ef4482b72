"""Channel presets: the seven channels studios deliver to most (migration 0002 made them once; the demo puts back any
it needs that is missing), and the print profile a CMYK preset converts through."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from assets.services.blobs import BlobsStored, blob_staged
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
        _, created = ChannelPreset.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "width": width,
                "height": height,
                "kind": kind,
                "section": section,
                "background_colour": background,
                "position": position,
            },
        )
        made += created
    return made


ICC_MEDIA_TYPE = "application/vnd.iccprofile"


def preset_print_profile_set(*, preset: ChannelPreset, source) -> ChannelPreset:
    """Store a CMYK output profile (an uploaded .icc/.icm) and make the preset convert its files through it."""
    from generation.finishing_ops import print_profile_check

    with blob_staged(source=source, max_bytes=settings.SEED_MAX_ICC_BYTES) as staged:
        print_profile_check(staged.path.read_bytes())
        with transaction.atomic(), BlobsStored() as stored:
            blob = stored.store(staged=staged, media_type=ICC_MEDIA_TYPE)
            preset.print_profile = blob
            preset.save(update_fields=["print_profile"])
    return preset
