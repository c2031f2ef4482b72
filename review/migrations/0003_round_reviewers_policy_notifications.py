"""Invitees get a state of their own (the many-to-many table of round reviewers becomes the RoundReviewer
model, rows kept), rounds a roll-up rule, briefs a review policy, and notifications and webhooks their tables."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0007_append_only_in_postgres"),
        ("review", "0002_append_only_in_postgres"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="RoundReviewer",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "review_round",
                            models.ForeignKey(
                                db_column="reviewround_id",
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="invitations",
                                to="review.reviewround",
                            ),
                        ),
                        (
                            "reviewer",
                            models.ForeignKey(
                                db_column="user_id",
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="round_invitations",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={"db_table": "review_reviewround_reviewers", "ordering": ["review_round", "id"]},
                ),
                migrations.AlterField(
                    model_name="reviewround",
                    name="reviewers",
                    field=models.ManyToManyField(
                        blank=True,
                        related_name="review_rounds",
                        through="review.RoundReviewer",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterField(
            model_name="roundreviewer",
            name="reviewer",
            field=models.ForeignKey(
                blank=True,
                db_column="user_id",
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="round_invitations",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="roundreviewer",
            name="share_link",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="invitation",
                to="review.sharelink",
            ),
        ),
        migrations.AddField(
            model_name="roundreviewer", name="guest_email", field=models.EmailField(blank=True, max_length=254)
        ),
        migrations.AddField(
            model_name="roundreviewer",
            name="decides",
            field=models.BooleanField(
                default=True, help_text="Off: the invitee follows the round and comments, but does not decide"
            ),
        ),
        migrations.AddField(
            model_name="roundreviewer", name="invited_at", field=models.DateTimeField(default=django.utils.timezone.now)
        ),
        migrations.AddField(
            model_name="roundreviewer", name="first_viewed_at", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.AddConstraint(
            model_name="roundreviewer",
            constraint=models.CheckConstraint(
                condition=models.Q(("reviewer__isnull", False), ("share_link__isnull", True))
                | models.Q(("reviewer__isnull", True), ("share_link__isnull", False)),
                name="invitee_is_user_or_guest",
            ),
        ),
        # Rounds opened before invitees had a time were invited when they opened.
        migrations.RunSQL(
            "UPDATE review_reviewround_reviewers i SET invited_at = r.opened_at "
            "FROM review_reviewround r WHERE r.id = i.reviewround_id",
            migrations.RunSQL.noop,
        ),
        migrations.AddField(
            model_name="reviewround",
            name="rule",
            field=models.CharField(
                choices=[("all", "All deciders"), ("any", "Any decider"), ("majority", "Majority of deciders")],
                default="all",
                max_length=20,
                help_text=(
                    "How deciders' verdicts roll up; reject > changes > approve with changes > approve breaks ties"
                ),
            ),
        ),
        migrations.AlterField(
            model_name="decision",
            name="verdict",
            field=models.CharField(
                choices=[
                    ("approve", "Approve"),
                    ("approve_with_changes", "Approve with changes"),
                    ("changes_requested", "Changes requested"),
                    ("reject", "Reject"),
                ],
                max_length=20,
            ),
        ),
        migrations.CreateModel(
            name="ReviewPolicy",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "checklist_before_approval",
                    models.BooleanField(default=False, help_text="Approving needs every checklist item ticked"),
                ),
                (
                    "reason_for_changes",
                    models.BooleanField(default=False, help_text="Rejecting or requesting changes needs a reason"),
                ),
                (
                    "automate_stages",
                    models.BooleanField(
                        default=True,
                        help_text=(
                            "An internal round closing approved opens the client round by itself; "
                            "changes requested send the producer a to-do list"
                        ),
                    ),
                ),
                (
                    "guest_emails",
                    models.JSONField(
                        blank=True,
                        default=list,
                        help_text="Client reviewers without an account: each gets a share link by e-mail",
                    ),
                ),
                (
                    "client_round_days",
                    models.PositiveSmallIntegerField(default=3, help_text="Deadline of an automatic client round"),
                ),
                (
                    "brief",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE, related_name="review_policy", to="assets.brief"
                    ),
                ),
            ],
            options={"verbose_name_plural": "review policies"},
        ),
        migrations.CreateModel(
            name="NotificationPreference",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "mode",
                    models.CharField(
                        choices=[("immediate", "Immediately"), ("digest", "Daily digest"), ("off", "Off")],
                        default="immediate",
                        max_length=20,
                    ),
                ),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="notification_preference",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="Notification",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=200, unique=True)),
                ("kind", models.CharField(max_length=40)),
                ("email", models.EmailField(max_length=254)),
                ("subject", models.CharField(max_length=300)),
                ("text", models.TextField()),
                ("html", models.TextField(blank=True)),
                ("link", models.CharField(blank=True, max_length=500)),
                (
                    "sealed_link",
                    models.TextField(blank=True, help_text="A guest's share link, encrypted until sent, then dropped"),
                ),
                (
                    "images",
                    models.JSONField(blank=True, default=list, help_text="Blob sha256s shown inline as thumbnails"),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("held", "Held for the digest"),
                            ("queued", "Queued"),
                            ("running", "Sending"),
                            ("succeeded", "Sent"),
                            ("failed", "Failed"),
                        ],
                        default="queued",
                        max_length=20,
                    ),
                ),
                ("error", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("claim_token", models.UUIDField(blank=True, null=True)),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "digest",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="digested",
                        to="review.notification",
                        help_text="The digest message that carried this one",
                    ),
                ),
                (
                    "recipient",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "review_round",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="notifications",
                        to="review.reviewround",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at"],
                "indexes": [models.Index(fields=["state"], name="review_noti_state_idx")],
            },
        ),
        migrations.CreateModel(
            name="WebhookEndpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("url", models.URLField(max_length=500)),
                (
                    "secret",
                    models.CharField(
                        help_text="Signs each payload (HMAC-SHA256); the receiver checks it", max_length=100
                    ),
                ),
                ("active", models.BooleanField(default=True)),
                ("consecutive_failures", models.PositiveIntegerField(default=0)),
                ("disabled_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "client",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="webhooks",
                        to="assets.client",
                        help_text="Empty: every client's events",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="WebhookDelivery",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=200, unique=True)),
                ("kind", models.CharField(max_length=40)),
                ("payload", models.JSONField()),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("running", "Sending"),
                            ("succeeded", "Delivered"),
                            ("failed", "Failed"),
                        ],
                        default="queued",
                        max_length=20,
                    ),
                ),
                ("response_status", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("error", models.TextField(blank=True)),
                ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("claim_token", models.UUIDField(blank=True, null=True)),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "endpoint",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="deliveries",
                        to="review.webhookendpoint",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at"],
                "verbose_name_plural": "webhook deliveries",
                "indexes": [models.Index(fields=["state", "next_attempt_at"], name="review_hook_due_idx")],
            },
        ),
    ]
