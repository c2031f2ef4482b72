from django.conf import settings
from django.db import models

from assets.access import Access


class ClientMembership(models.Model):
    """Ties a client-side user to a client: such a user sees that client's briefs and nothing else."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="client_memberships")
    client = models.ForeignKey("assets.Client", on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    access = Access(client="client", studio_wide_writes=True, reviewers_read=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "client"], name="membership_once")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.client}"
