"""Webhook secrets were stored in plain text: the column is renamed to say what it now holds, and every secret in
it is sealed (Fernet, keyed from SEED_WEBHOOK_KEY or SECRET_KEY) in place."""

from django.db import migrations, models

from review.webhook_security import webhook_secret_open, webhook_secret_seal


def secrets_seal(apps, schema_editor):
    endpoints = apps.get_model("review", "WebhookEndpoint")
    for endpoint in endpoints.objects.only("pk", "sealed_secret"):
        endpoints.objects.filter(pk=endpoint.pk).update(
            sealed_secret=webhook_secret_seal(secret=endpoint.sealed_secret)
        )


def secrets_open(apps, schema_editor):
    endpoints = apps.get_model("review", "WebhookEndpoint")
    for endpoint in endpoints.objects.only("pk", "sealed_secret"):
        endpoints.objects.filter(pk=endpoint.pk).update(
            sealed_secret=webhook_secret_open(sealed=endpoint.sealed_secret)
        )


class Migration(migrations.Migration):
    dependencies = [("review", "0006_version_search_discussion")]

    operations = [
        migrations.RenameField("webhookendpoint", "secret", "sealed_secret"),
        migrations.AlterField(
            model_name="webhookendpoint",
            name="sealed_secret",
            field=models.TextField(
                editable=False,
                help_text="The secret that signs each payload (HMAC-SHA256), "
                "encrypted with SEED_WEBHOOK_KEY; shown once when issued",
            ),
        ),
        migrations.AlterField(
            model_name="webhookendpoint",
            name="url",
            field=models.URLField(
                max_length=500,
                help_text="http(s) only, to a public address unless its network is "
                "allowed in SEED_WEBHOOK_ALLOWED_NETWORKS",
            ),
        ),
        migrations.RunPython(secrets_seal, secrets_open),
    ]
