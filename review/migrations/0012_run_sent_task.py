from django.db import migrations, models

# The runs waiting or running at the upgrade were sent before rows remembered their sends: they remember theirs from
# here (delivery 0007 says why). A webhook waiting out its backoff has nothing on the broker: webhooks_due sends it.
BACKFILL = [
    "UPDATE review_notification SET task_func = 'review.tasks.send_notification', task_queue = 'cpu', sent_at = now() "
    "WHERE state = 'queued' OR (state = 'running' AND claim_token IS NOT NULL)",
    "UPDATE review_webhookdelivery SET task_func = 'review.tasks.send_webhook', task_queue = 'cpu', "
    "sent_at = CASE WHEN next_attempt_at IS NULL THEN now() END "
    "WHERE state = 'queued' OR (state = 'running' AND claim_token IS NOT NULL)",
]


class Migration(migrations.Migration):
    dependencies = [
        ("review", "0011_review_stages"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="claimed_by",
            field=models.CharField(blank=True, editable=False, max_length=200),
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="claimed_by",
            field=models.CharField(blank=True, editable=False, max_length=200),
        ),
        migrations.AddField(
            model_name="notification",
            name="sent_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="notification",
            name="task_func",
            field=models.CharField(blank=True, editable=False, max_length=100),
        ),
        migrations.AddField(
            model_name="notification",
            name="task_queue",
            field=models.CharField(blank=True, editable=False, max_length=8),
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="sent_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="task_func",
            field=models.CharField(blank=True, editable=False, max_length=100),
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="task_queue",
            field=models.CharField(blank=True, editable=False, max_length=8),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
