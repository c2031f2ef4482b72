import hashlib
from pathlib import Path

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def bundles_store(apps, schema_editor):
    """Bundles made before this migration move into the blob store from the delivery folder they were written to;
    one that is gone or altered there stays without a blob, and its download says so."""
    from assets.services.blobs import blob_file_write

    Blob = apps.get_model("assets", "Blob")
    Delivery = apps.get_model("delivery", "Delivery")
    for delivery in (
        Delivery.objects.filter(state="succeeded", bundle__isnull=True).exclude(bundle_sha256="").iterator()
    ):
        path = Path(settings.SEED_DELIVERY_DIR) / delivery.folder / delivery.bundle_name
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != delivery.bundle_sha256:
            continue
        blob_file_write(sha256=delivery.bundle_sha256, source=path)
        blob, _ = Blob.objects.get_or_create(
            sha256=delivery.bundle_sha256, defaults={"size": path.stat().st_size, "media_type": "application/zip"}
        )
        Delivery.objects.filter(pk=delivery.pk).update(bundle=blob)


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0013_version_recipe_plpgsql"),
        ("delivery", "0003_outpaint_rule_label"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="bundle",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="assets.blob"
            ),
        ),
        migrations.RunPython(bundles_store, migrations.RunPython.noop),
    ]
