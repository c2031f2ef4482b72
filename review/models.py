from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

DEFAULT_CHECKLIST = ("Brand colour present", "Eye-line towards lens", "No anatomical glitches")


class Rating(models.Model):
    """Stars 0–5 given by one reviewer to one version; a reviewer changes their own rating in place."""

    version = models.ForeignKey("assets.Version", on_delete=models.PROTECT, related_name="ratings")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ratings")
    stars = models.PositiveSmallIntegerField(validators=[MinValueValidator(0), MaxValueValidator(5)])
    updated_at = models.DateTimeField(auto_now=True)

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

    brief = models.ForeignKey("assets.Brief", on_delete=models.PROTECT, related_name="review_rounds")
    number = models.PositiveIntegerField()
    stage = models.CharField(max_length=20, choices=Stage.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    title = models.CharField(max_length=200, blank=True)
    previous = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="next_round")
    versions = models.ManyToManyField("assets.Version", through="RoundVersion", related_name="review_rounds")
    reviewers = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="review_rounds", blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["brief", "number"]
        constraints = [models.UniqueConstraint(fields=["brief", "number"], name="round_number_once_per_brief")]

    def __str__(self) -> str:
        return f"{self.brief} · round {self.number} ({self.get_stage_display()})"


class RoundVersion(models.Model):
    """A version under review in a round, with the rolled-up result once reviewers have spoken."""

    review_round = models.ForeignKey(ReviewRound, on_delete=models.PROTECT, related_name="items")
    version = models.ForeignKey("assets.Version", on_delete=models.PROTECT, related_name="round_items")
    position = models.PositiveSmallIntegerField(default=0)
    client_name = models.CharField(max_length=200, blank=True, help_text="What the client sees instead of internal ids")

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
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        REJECT = "reject", "Reject"

    review_round = models.ForeignKey(ReviewRound, on_delete=models.PROTECT, related_name="decisions")
    version = models.ForeignKey("assets.Version", on_delete=models.PROTECT, related_name="decisions")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions")
    share_link = models.ForeignKey("review.ShareLink", null=True, blank=True, on_delete=models.PROTECT, related_name="decisions")
    guest_name = models.CharField(max_length=120, blank=True)
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    comment = models.TextField(blank=True)
    internal = models.BooleanField(default=False, help_text="Hidden from client users and share links")
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["review_round", "version", "id"]
        indexes = [models.Index(fields=["review_round", "version", "reviewer"])]
        constraints = [
            models.CheckConstraint(
                name="decision_has_one_author",
                condition=Q(reviewer__isnull=False, share_link__isnull=True) | Q(reviewer__isnull=True, share_link__isnull=False),
            ),
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

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="pin_inside_image",
                condition=Q(x__gte=0, y__gte=0, w__gte=0, h__gte=0, x__lte=1, y__lte=1)
                & Q(x__lte=1 - models.F("w")) & Q(y__lte=1 - models.F("h")),
            ),
        ]


class Approval(models.Model):
    """Sign-off on exact bytes: valid only while the version's blob still hashes to `sha256`."""

    version = models.ForeignKey("assets.Version", on_delete=models.PROTECT, related_name="approvals")
    review_round = models.ForeignKey(ReviewRound, on_delete=models.PROTECT, related_name="approvals")
    sha256 = models.CharField(max_length=64)
    final = models.BooleanField(help_text="A client-stage approval: what delivery accepts")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

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

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.label or f"share link {self.pk} for {self.review_round}"


class AuditEvent(models.Model):
    """Append-only, hash-chained: each row carries the previous row's hash, so an edit breaks the chain."""

    kind = models.CharField(max_length=50)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    share_link = models.ForeignKey(ShareLink, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    object_type = models.CharField(max_length=50)
    object_id = models.BigIntegerField()
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.object_type}:{self.object_id}"
