"""A LoRA keeps the training story its safetensors header tells (assets.lora_story). Weights registered before stay
without one: a migration does not read model files out of storage."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0026_search_imported_recipe_record"),
    ]

    operations = [
        migrations.AddField(
            model_name="modelweights",
            name="training_story",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
