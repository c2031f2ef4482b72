from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("assets", "0015_lineage_files_and_adapters")]

    operations = [
        migrations.AddField(
            model_name="client",
            name="shares_lineage",
            field=models.BooleanField(
                default=False,
                help_text="The client's reviewers may also read prompts, jobs and derivations of its briefs",
            ),
        ),
    ]
