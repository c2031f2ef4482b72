"""Decisions, approvals and the audit trail refuse TRUNCATE too (see assets 0018)."""

import importlib

from django.db import migrations

truncate_triggers_sql = importlib.import_module("assets.migrations.0018_append_only_truncate").truncate_triggers_sql


class Migration(migrations.Migration):
    dependencies = [("review", "0007_webhook_secret_sealed"), ("assets", "0018_append_only_truncate")]

    operations = [
        migrations.RunSQL(*truncate_triggers_sql(["review_decision", "review_approval", "review_auditevent"]))
    ]
