from django.conf import settings
from django.db import models

from assets.access import Access


class ApiToken(models.Model):
    """A key for the API, given out once: only its sha256 is kept, so a copy of the database signs nobody in.

    It stops working at `expires_at`, or with its user's account.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True, help_text="sha256 of the key (hex)")
    prefix = models.CharField(max_length=8, help_text="The key's first characters, to tell keys apart")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    access = Access(owner="user")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
