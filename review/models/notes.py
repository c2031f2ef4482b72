from django.conf import settings
from django.db import models
from django.db.models import Q

from assets.access import Access
from review.models.authors import user_or_link
from review.models.rounds import ReviewRound, ShareLink


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
            models.CheckConstraint(name="note_has_one_author", condition=user_or_link("author")),
        ]

    def __str__(self) -> str:
        return f"note {self.pk} on v{self.version_id} by {self.author_name}"

    @property
    def author_name(self) -> str:
        return self.author.get_username() if self.author_id else f"{self.guest_name or 'guest'} (share link)"
