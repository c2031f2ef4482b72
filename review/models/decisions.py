"""What reviewers said: verdicts bound to the bytes they saw, the regions they point at, and sign-off."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from assets.access import Access
from review.models.authors import user_or_link
from review.models.rounds import ReviewRound


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
            models.CheckConstraint(name="decision_has_one_author", condition=user_or_link("reviewer")),
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
