"""API keys: each is shown once when issued, kept only as its sha256, and stops working after SEED_API_TOKEN_DAYS."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.utils import timezone

from assets.errors import ApplicationError
from assets.models import ApiToken

KEY_BYTES = 32
PREFIX_CHARS = 8
# A script calls many times a minute: recording each use to the second would be one more write per request.
LAST_USED_GRAIN = dt.timedelta(minutes=1)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_issue(*, user) -> tuple[ApiToken, str]:
    """A new key for `user` and its row; the key itself is returned this once and stored nowhere.

    The user's expired keys go at the same time: nothing can use them any more.
    """
    now = timezone.now()
    key = secrets.token_urlsafe(KEY_BYTES)
    ApiToken.objects.filter(user=user, expires_at__lte=now).delete()
    token = ApiToken.objects.create(
        user=user,
        digest=key_digest(key),
        prefix=key[:PREFIX_CHARS],
        expires_at=now + dt.timedelta(days=settings.SEED_API_TOKEN_DAYS),
    )
    return token, key


def api_tokens_revoke_on_password_change(sender, instance, raw=False, **kwargs) -> None:
    """A password change ends every API key of the account (pre_save of the user model): a key taken with the old
    password must not outlive it, as Django's sessions do not."""
    if raw or instance.pk is None:
        return
    stored = type(instance).objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if stored is not None and stored != instance.password:
        ApiToken.objects.filter(user_id=instance.pk).delete()


def api_token_use(*, key: str) -> ApiToken:
    """The live token for `key`, its use recorded; ApplicationError says why a key is refused."""
    token = ApiToken.objects.select_related("user").filter(digest=key_digest(key)).first()
    if token is None:
        raise ApplicationError("the token is not valid", extra={"code": "token_invalid"})
    now = timezone.now()
    if token.expires_at <= now:
        raise ApplicationError(
            f"the token expired at {token.expires_at.isoformat(timespec='seconds')}; "
            "ask for a new one at /api/auth/token/",
            extra={"code": "token_expired"},
        )
    if not token.user.is_active:
        raise ApplicationError("the token's user account is disabled", extra={"code": "user_inactive"})
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_GRAIN:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
