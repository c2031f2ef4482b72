from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from assets.access import Access
from assets.errors import ApplicationError
from assets.models.base import QueuedRun
from assets.notification_kinds import WEBHOOK_KIND_CHOICES, NotificationKind
from review.webhook_security import webhook_url_check


def _user_or_link(user_field: str) -> Q:
    """Exactly one author: a signed-in user, or a guest behind a share link."""
    return Q(**{f"{user_field}__isnull": False, "share_link__isnull": True}) | Q(
        **{f"{user_field}__isnull": True, "share_link__isnull": False}
    )


DEFAULT_CHECKLIST = ("Brand colour present", "Eye-line towards lens", "No anatomical glitches")


class Rating(models.Model):
    """Stars 0–5 given by one reviewer to one version; a reviewer changes their own rating in place."""

    version = models.ForeignKey("assets.Version", on_delete=models.PROTECT, related_name="ratings")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ratings")
    stars = models.PositiveSmallIntegerField(validators=[MinValueValidator(0), MaxValueValidator(5)])
    updated_at = models.DateTimeField(auto_now=True)

    access = Access(client="version__brief__campaign__client")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "reviewer"], name="rating_once_per_reviewer"),
            models.CheckConstraint(condition=Q(stars__gte=0, stars__lte=5), name="rating_stars_0_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.stars}★ v{self.version_id} by {self.reviewer}"


class ChecklistItem(models.Model):
    """One line of a brief's curation checklist; retired items stay for the ticks that reference them."""

    brief = models.ForeignKey("assets.Brief", on_delete=models.PROTECT, related_name="checklist_items")
    label = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    access = Access(client="brief__campaign__client")

    class Meta:
        ordering = ["brief", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["brief", "label"], name="checklist_label_once_per_brief")]

    def __str__(self) -> str:
        return self.label


class ChecklistTick(models.Model):
    version = models.ForeignKey("assets.Version", on_delete=models.PROTECT, related_name="checklist_ticks")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="ticks")
    checked = models.BooleanField()
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    access = Access(client="version__brief__campaign__client")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "item"], name="tick_once_per_item")]


class ReviewRound(models.Model):
    """A producer puts versions in front of reviewers; the next round links to the previous one."""

    class Stage(models.TextChoices):
        INTERNAL = "internal", "Internal"
        CLIENT = "client", "Client"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    class Rule(models.TextChoices):
        ALL = "all", "All deciders"
        ANY = "any", "Any decider"
        MAJORITY = "majority", "Majority of deciders"

    brief = models.ForeignKey("assets.Brief", on_delete=models.PROTECT, related_name="review_rounds")
    number = models.PositiveIntegerField()
    stage = models.CharField(max_length=20, choices=Stage.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    title = models.CharField(max_length=200, blank=True)
    previous = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="next_round")
    versions = models.ManyToManyField("assets.Version", through="RoundVersion", related_name="review_rounds")
    reviewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="RoundReviewer", related_name="review_rounds", blank=True
    )
    rule = models.CharField(
        max_length=20,
        choices=Rule.choices,
        default=Rule.ALL,
        help_text="How deciders' verdicts roll up; reject > changes > approve with changes > approve breaks ties",
    )
    deadline = models.DateTimeField(null=True, blank=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    access = Access(client="brief__campaign__client", client_reads=Q(stage="client"))

    class Meta:
        ordering = ["brief", "number"]
        constraints = [models.UniqueConstraint(fields=["brief", "number"], name="round_number_once_per_brief")]

    def __str__(self) -> str:
        return f"{self.brief} · round {self.number} ({self.get_stage_display()})"


class RoundReviewer(models.Model):
    """One invitee of a round, a studio or client user or a guest behind a share link: invited → viewed → decided.

    The table is the one the plain many-to-many field made, so existing invitations keep their rows.
    """

    review_round = models.ForeignKey(
        ReviewRound, on_delete=models.CASCADE, db_column="reviewround_id", related_name="invitations"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        db_column="user_id",
        related_name="round_invitations",
    )
    share_link = models.OneToOneField(
        "review.ShareLink", null=True, blank=True, on_delete=models.PROTECT, related_name="invitation"
    )
    guest_email = models.EmailField(blank=True)
    decides = models.BooleanField(
        default=True, help_text="Off: the invitee follows the round and comments, but does not decide"
    )
    invited_at = models.DateTimeField(default=timezone.now)
    first_viewed_at = models.DateTimeField(null=True, blank=True)

    access = Access(client="review_round__brief__campaign__client")

    class Meta:
        db_table = "review_reviewround_reviewers"
        ordering = ["review_round", "id"]
        constraints = [
            models.CheckConstraint(name="invitee_is_user_or_guest", condition=_user_or_link("reviewer")),
        ]

    def __str__(self) -> str:
        return f"{self.name} in {self.review_round}"

    @property
    def name(self) -> str:
        if self.reviewer_id:
            return self.reviewer.get_full_name() or self.reviewer.get_username()
        return self.guest_email or f"guest link {self.share_link_id}"


class ReviewPolicy(models.Model):
    """How a brief's rounds run; a brief without one runs on the defaults."""

    brief = models.OneToOneField("assets.Brief", on_delete=models.CASCADE, related_name="review_policy")
    checklist_before_approval = models.BooleanField(
        default=False, help_text="Approving needs every checklist item ticked"
    )
    reason_for_changes = models.BooleanField(default=False, help_text="Rejecting or requesting changes needs a reason")
    automate_stages = models.BooleanField(
        default=True,
        help_text="An internal round closing approved opens the client round by itself; changes requested "
        "send the producer a to-do list",
    )
    guest_emails = models.JSONField(
        default=list, blank=True, help_text="Client reviewers without an account: each gets a share link by e-mail"
    )
    client_round_days = models.PositiveSmallIntegerField(default=3, help_text="Deadline of an automatic client round")

    access = Access(client="brief__campaign__client")

    class Meta:
        verbose_name_plural = "review policies"

    def __str__(self) -> str:
        return f"review policy of {self.brief}"


class RoundVersion(models.Model):
    """A version under review in a round, with the rolled-up result once reviewers have spoken."""

    review_round = models.ForeignKey(ReviewRound, on_delete=models.PROTECT, related_name="items")
    version = models.ForeignKey("assets.Version", on_delete=models.PROTECT, related_name="round_items")
    position = models.PositiveSmallIntegerField(default=0)
    client_name = models.CharField(max_length=200, blank=True, help_text="What the client sees instead of internal ids")

    access = Access(client="review_round__brief__campaign__client", client_reads=Q(review_round__stage="client"))

    class Meta:
        ordering = ["review_round", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["review_round", "version"], name="version_once_per_round")]

    def __str__(self) -> str:
        return f"v{self.version_id} in {self.review_round}"


class Decision(models.Model):
    """One reviewer's verdict on one version in one round, bound to the sha256 they saw.

    Append-only: changing one's mind adds a row; the newest row per reviewer counts.
    """

    class Verdict(models.TextChoices):
        APPROVE = "approve", "Approve"
        APPROVE_WITH_CHANGES = "approve_with_changes", "Approve with changes"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        REJECT = "reject", "Reject"

    review_round = models.ForeignKey(ReviewRound, on_delete=models.PROTECT, related_name="decisions")
    version = models.ForeignKey("assets.Version", on_delete=models.PROTECT, related_name="decisions")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    share_link = models.ForeignKey(
        "review.ShareLink", null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    guest_name = models.CharField(max_length=120, blank=True)
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    comment = models.TextField(blank=True)
    internal = models.BooleanField(default=False, help_text="Hidden from client users and share links")
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    access = Access(
        client="review_round__brief__campaign__client", client_reads=Q(review_round__stage="client", internal=False)
    )

    class Meta:
        ordering = ["review_round", "version", "id"]
        indexes = [models.Index(fields=["review_round", "version", "reviewer"])]
        constraints = [
            models.CheckConstraint(name="decision_has_one_author", condition=_user_or_link("reviewer")),
        ]

    def __str__(self) -> str:
        return f"{self.get_verdict_display()} on v{self.version_id} by {self.author_name}"

    @property
    def author_name(self) -> str:
        return self.reviewer.get_username() if self.reviewer_id else f"{self.guest_name or 'guest'} (share link)"


class Pin(models.Model):
    """A region on the image a decision talks about, in coordinates normalised to 0..1."""

    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="pins")
    x = models.FloatField(validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    y = models.FloatField(validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    w = models.FloatField(default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    h = models.FloatField(default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    note = models.CharField(max_length=500, blank=True)

    access = Access(
        client="decision__review_round__brief__campaign__client",
        client_reads=Q(decision__review_round__stage="client", decision__internal=False),
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="pin_inside_image",
                condition=Q(x__gte=0, y__gte=0, w__gte=0, h__gte=0, x__lte=1, y__lte=1)
                & Q(x__lte=1 - models.F("w"))
                & Q(y__lte=1 - models.F("h")),
            ),
        ]


class Approval(models.Model):
    """Sign-off on exact bytes: valid only while the version's blob still hashes to `sha256`."""

    version = models.ForeignKey("assets.Version", on_delete=models.PROTECT, related_name="approvals")
    review_round = models.ForeignKey(ReviewRound, on_delete=models.PROTECT, related_name="approvals")
    sha256 = models.CharField(max_length=64)
    final = models.BooleanField(help_text="A client-stage approval: what delivery accepts")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    access = Access(client="version__brief__campaign__client", client_reads=Q(review_round__stage="client"))

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["version", "review_round"], name="approval_once_per_round"),
            models.UniqueConstraint(fields=["version"], condition=Q(final=True), name="one_final_approval_per_version"),
        ]

    def __str__(self) -> str:
        return f"{'final ' if self.final else ''}approval of v{self.version_id} ({self.sha256[:12]})"


class ShareLink(models.Model):
    """A client review link scoped to one round; only the token's hash is stored."""

    review_round = models.ForeignKey(ReviewRound, on_delete=models.PROTECT, related_name="share_links")
    token_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    can_decide = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    access = Access(client="review_round__brief__campaign__client")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.label or f"share link {self.pk} for {self.review_round}"


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


class Note(models.Model):
    """A comment thread on a version in a round: the root carries markup bound to the bytes it was drawn on; replies
    hang under it. A root is open until resolved; resolving and reopening are the only changes a note takes."""

    review_round = models.ForeignKey(ReviewRound, on_delete=models.PROTECT, related_name="notes")
    version = models.ForeignKey("assets.Version", on_delete=models.PROTECT, related_name="notes")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="replies")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    share_link = models.ForeignKey(ShareLink, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    guest_name = models.CharField(max_length=120, blank=True)
    text = models.TextField()
    markup = models.JSONField(default=list, blank=True, help_text="Vector shapes in 0..1 image coordinates")
    sha256 = models.CharField(max_length=64, help_text="The bytes the markup was drawn on")
    internal = models.BooleanField(default=False, help_text="Hidden from client users and share links")
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    fixed_by = models.ForeignKey(
        "assets.Derivation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text='The inpaint queued by "fix this region"',
    )

    access = Access(
        client="version__brief__campaign__client", client_reads=Q(review_round__stage="client", internal=False)
    )

    class Meta:
        ordering = ["review_round", "version", "id"]
        indexes = [models.Index(fields=["version", "resolved_at"])]
        constraints = [
            models.CheckConstraint(name="note_has_one_author", condition=_user_or_link("author")),
        ]

    def __str__(self) -> str:
        return f"note {self.pk} on v{self.version_id} by {self.author_name}"

    @property
    def author_name(self) -> str:
        return self.author.get_username() if self.author_id else f"{self.guest_name or 'guest'} (share link)"
