from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("generation", "0004_grids"),
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
    ]
