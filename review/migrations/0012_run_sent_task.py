from django.db import migrations, models


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
    ]
