from django.db import migrations

from delivery.services.presets import DEFAULT_PRESETS


def add_presets(apps, schema_editor):
    preset_model = apps.get_model("delivery", "ChannelPreset")
    for slug, name, width, height, kind, section, background, position in DEFAULT_PRESETS:
        preset_model.objects.get_or_create(
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


class Migration(migrations.Migration):
    dependencies = [("delivery", "0001_initial")]
    operations = [migrations.RunPython(add_presets, migrations.RunPython.noop)]
