from django.db import migrations, models

# The runs waiting or running at the upgrade were sent before rows remembered their sends: they remember theirs from
# here, so that the sweep (assets.services.run_resend) sends them again should their task be lost, or sit on a broker
# no cluster reads any more (a queue switched to Redis with this release).
BACKFILL = (
    "UPDATE delivery_delivery SET task_func = 'delivery.tasks.run_delivery', task_queue = 'cpu', sent_at = now() "
    "WHERE state = 'queued' OR (state = 'running' AND claim_token IS NOT NULL)"
)


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0006_preset_ai_disclosure"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="claimed_by",
            field=models.CharField(blank=True, editable=False, max_length=200),
        ),
        migrations.AddField(
            model_name="delivery",
            name="sent_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="delivery",
            name="task_func",
            field=models.CharField(blank=True, editable=False, max_length=100),
        ),
        migrations.AddField(
            model_name="delivery",
            name="task_queue",
            field=models.CharField(blank=True, editable=False, max_length=8),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
