from django.db import migrations, models

# The runs waiting or running at the upgrade were sent before rows remembered their sends: they remember theirs from
# here (delivery 0007 says why); derivations too, whose tasks are generation's. On the gpu queue, whose workers also
# run model-free finishing. Imports and grids are recorded running in their own transaction: no task is theirs.
BACKFILL = [
    "UPDATE generation_reproductionrun SET task_func = 'generation.tasks.run_reproduction', task_queue = 'gpu', "
    "sent_at = now() WHERE state = 'queued' OR (state = 'running' AND claim_token IS NOT NULL)",
    "UPDATE assets_derivation SET task_func = CASE WHEN op = 'train_lora' THEN 'generation.tasks.run_training' "
    "WHEN phase = 'finishing' THEN 'generation.tasks.run_finishing' ELSE 'generation.tasks.run_derivation' END, "
    "task_queue = 'gpu', sent_at = now() "
    "WHERE task_func = '' AND op NOT IN ('import', 'grid') "
    "AND (state = 'queued' OR (state = 'running' AND claim_token IS NOT NULL))",
]


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0004_grids"),
        ("assets", "0031_run_sent_task"),
    ]

    operations = [
        migrations.AddField(
            model_name="reproductionrun",
            name="claimed_by",
            field=models.CharField(blank=True, editable=False, max_length=200),
        ),
        migrations.AddField(
            model_name="reproductionrun",
            name="sent_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="reproductionrun",
            name="task_func",
            field=models.CharField(blank=True, editable=False, max_length=100),
        ),
        migrations.AddField(
            model_name="reproductionrun",
            name="task_queue",
            field=models.CharField(blank=True, editable=False, max_length=8),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
