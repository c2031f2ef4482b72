"""Telling people and systems about review events: e-mail notifications and their preferences, and webhooks."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from assets.access import Access
from assets.errors import ApplicationError
from assets.models.base import QueuedRun
from assets.notification_kinds import WEBHOOK_KIND_CHOICES, NotificationKind
from review.models.rounds import ReviewRound
from review.webhook_security import webhook_url_check


class NotificationPreference(models.Model):
    class Mode(models.TextChoices):
        IMMEDIATE = "immediate", "Immediately"
        DIGEST = "digest", "Daily digest"
        OFF = "off", "Off"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.IMMEDIATE)

    access = Access(owner="user")

    def __str__(self) -> str:
        return f"{self.user}: {self.get_mode_display()}"


class Notification(QueuedRun):
    """One message to one person about one event, sent by the worker once the event's transaction commits.

    `key` names the event for this recipient, so the same reminder or notice is never made twice.
    """

    class State(models.TextChoices):
        HELD = "held", "Held for the digest"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Sending"
        SUCCEEDED = "succeeded", "Sent"
        FAILED = "failed", "Failed"

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=40, choices=NotificationKind.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    email = models.EmailField()
    review_round = models.ForeignKey(
        ReviewRound, null=True, blank=True, on_delete=models.PROTECT, related_name="notifications"
    )
    subject = models.CharField(max_length=300)
    text = models.TextField()
    html = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True)
    sealed_link = models.TextField(blank=True, help_text="A guest's share link, encrypted until sent, then dropped")
    images = models.JSONField(default=list, blank=True, help_text="Blob sha256s shown inline as thumbnails")
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    digest = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="digested",
        help_text="The digest message that carried this one",
    )

    access = Access(client="review_round__brief__campaign__client", reviewers_read=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state"], name="review_noti_state_idx")]

    def __str__(self) -> str:
        return f"{self.kind} to {self.email}"


class WebhookEndpoint(models.Model):
    """A URL told about review events: the studio's own (no client) or one client's."""

    client = models.ForeignKey(
        "assets.Client",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="webhooks",
        help_text="Empty: every client's events",
    )
    url = models.URLField(
        max_length=500,
        help_text="http(s) only, to a public address unless its network is allowed in SEED_WEBHOOK_ALLOWED_NETWORKS",
    )
    sealed_secret = models.TextField(
        editable=False,
        help_text="The secret that signs each payload (HMAC-SHA256), "
        "encrypted with SEED_WEBHOOK_KEY; shown once when issued",
    )
    active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    access = Access(client="client", reviewers_read=False)

    def __str__(self) -> str:
        return self.url

    def clean(self):
        if not self.url:
            return  # the field's own check says it is missing
        try:
            webhook_url_check(url=self.url)
        except ApplicationError as exc:
            raise ValidationError({"url": exc.message}) from exc


class WebhookDelivery(QueuedRun):
    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Sending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed"

    key = models.CharField(max_length=200, unique=True)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries")
    kind = models.CharField(max_length=40, choices=WEBHOOK_KIND_CHOICES)
    payload = models.JSONField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    run_kind = "webhook"

    access = Access(client="endpoint__client", reviewers_read=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="review_hook_due_idx")]

    def __str__(self) -> str:
        return f"{self.kind} to {self.endpoint}"
