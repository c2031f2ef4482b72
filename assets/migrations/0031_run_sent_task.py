from django.db import migrations, models

# The run columns a derivation may change, as assets 0028 listed them; what was last sent to the broker for it
# (assets.services.run_resend) and the worker that claimed it join them here.
MUTABLE = [
    "state",
    "error",
    "environment",
    "job_id",
    "started_at",
    "finished_at",
    "wall_seconds",
    "gpu_seconds",
    "progress_step",
    "progress_total",
    "claim_token",
    "attempts",
    "run_notes",
    "cancelled_by_id",
    "cancelled_at",
    "created_by_id=null",
    "progress_log",
]


def _trigger(columns: list[str]) -> str:
    arguments = ", ".join(f"'{column}'" for column in columns)
    return (
        "DROP TRIGGER IF EXISTS seed_append_only_update ON assets_derivation;"
        "CREATE TRIGGER seed_append_only_update BEFORE UPDATE ON assets_derivation FOR EACH ROW "
        f"EXECUTE FUNCTION seed_append_only({arguments});"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0030_search_scope_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="derivation",
            name="sent_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="derivation",
            name="task_func",
            field=models.CharField(blank=True, editable=False, max_length=100),
        ),
        migrations.AddField(
            model_name="derivation",
            name="task_queue",
            field=models.CharField(blank=True, editable=False, max_length=8),
        ),
        migrations.AddField(
            model_name="derivation",
            name="claimed_by",
            field=models.CharField(blank=True, editable=False, max_length=200),
        ),
        migrations.RunSQL(_trigger([*MUTABLE, "task_func", "task_queue", "sent_at", "claimed_by"]), _trigger(MUTABLE)),
    ]
