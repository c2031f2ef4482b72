from django.db import migrations

# The seven channels studios deliver to most; studios edit or add their own in the admin.
PRESETS = [
    ("square", "Square 1:1", 1080, 1080, "image", "social", "", 1),
    ("vertical", "Vertical 9:16", 1080, 1920, "image", "story", "", 2),
    ("widescreen", "Widescreen 16:9", 1920, 1080, "image", "video", "", 3),
    ("hero", "Hero banner", 2560, 1080, "image", "hero", "#FFFFFF", 4),
    ("social-4x5", "Social crop 4:5", 1080, 1350, "image", "feed", "", 5),
    ("product-card", "Product card", 1200, 1200, "image", "product", "#F5F5F5", 6),
    ("presentation", "Internal presentation", 1920, 1080, "presentation", "deck", "", 7),
]


def add_presets(apps, schema_editor):
    preset_model = apps.get_model("delivery", "ChannelPreset")
    for slug, name, width, height, kind, section, background, position in PRESETS:
        preset_model.objects.get_or_create(slug=slug, defaults={
            "name": name, "width": width, "height": height, "kind": kind, "section": section,
            "background_colour": background, "position": position,
        })


class Migration(migrations.Migration):
    dependencies = [("delivery", "0001_initial")]
    operations = [migrations.RunPython(add_presets, migrations.RunPython.noop)]
