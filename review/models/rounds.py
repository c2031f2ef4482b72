"""Review rounds: what is under review, who is invited, the policy they run on and the share links guests use."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from assets.access import Access
from review.models.authors import user_or_link


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
    review_stage = models.ForeignKey(
        "review.ReviewStage",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rounds",
        help_text="The template's stage this round runs; empty for a round opened outside a template",
    )
    step_group = models.UUIDField(
        null=True, blank=True, editable=False, help_text="Shared by the rounds one step of a template opened together"
    )
    escalated_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the producer was told the stage is overdue"
    )

    access = Access(client="brief__campaign__client", client_reads=Q(stage="client"))

    class Meta:
        ordering = ["brief", "number"]
        constraints = [models.UniqueConstraint(fields=["brief", "number"], name="round_number_once_per_brief")]

    def __str__(self) -> str:
        stage = self.review_stage.name if self.review_stage_id else self.get_stage_display()
        return f"{self.brief} · round {self.number} ({stage})"


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
            models.CheckConstraint(name="invitee_is_user_or_guest", condition=user_or_link("reviewer")),
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
    template = models.ForeignKey(
        "review.ReviewTemplate",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="policies",
        help_text="The stages the brief's rounds run through; empty: internal, then client, as above",
    )

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
