"""The audit trail moves to the core: review's AuditEvent becomes the assets app's, on the same table.

Only Django's record of who owns `review_auditevent` changes (review 0010 lets go of it). The rows and their hash
chain, the append-only and TRUNCATE triggers (review 0002 and 0008) and the foreign key from `share_link_id` to
review's share links stay in the database as they are. The content type moves with the model, so the permissions
granted on the trail keep their holders.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _content_type_move(apps, *, source: str, target: str) -> None:
    content_types = apps.get_model("contenttypes", "ContentType").objects
    if not content_types.filter(app_label=target, model="auditevent").exists():
        content_types.filter(app_label=source, model="auditevent").update(app_label=target)


def content_type_to_assets(apps, schema_editor):
    _content_type_move(apps, source="review", target="assets")


def content_type_to_review(apps, schema_editor):
    _content_type_move(apps, source="assets", target="review")


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0018_append_only_truncate"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("kind", models.CharField(max_length=50)),
                        ("share_link_id", models.BigIntegerField(blank=True, db_index=True, null=True)),
                        ("object_type", models.CharField(max_length=50)),
                        ("object_id", models.BigIntegerField()),
                        ("payload", models.JSONField(default=dict)),
                        ("created_at", models.DateTimeField()),
                        ("prev_hash", models.CharField(max_length=64)),
                        ("hash", models.CharField(max_length=64, unique=True)),
                        (
                            "actor",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "review_auditevent",
                        "ordering": ["id"],
                        "indexes": [
                            models.Index(fields=["object_type", "object_id"], name="review_audi_object__dbe731_idx")
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_type_to_assets, content_type_to_review),
    ]
