from django.db import migrations, models


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
    ]
