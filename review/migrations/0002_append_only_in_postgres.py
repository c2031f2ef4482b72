"""Decisions, approvals and the audit trail are append-only in Postgres too (see assets 0007)."""

import importlib

from django.db import migrations

triggers_sql = importlib.import_module("assets.migrations.0007_append_only_in_postgres").triggers_sql

TABLES = {
    "review_decision": ([], True),
    "review_approval": ([], True),
    "review_auditevent": ([], True),
}


class Migration(migrations.Migration):
    dependencies = [("review", "0001_initial"), ("assets", "0007_append_only_in_postgres")]

    operations = [migrations.RunSQL(*triggers_sql(TABLES))]
