"""Error reporting to Sentry, set up from settings only when SENTRY_DSN is given."""

from __future__ import annotations

import re

from config.logging import REDACTED, secrets_redact

# Headers that carry a credential: an API key, a session, a CSRF token.
SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-csrftoken"}
# The request's parsed cookies, wherever the SDK puts them.
SECRET_KEYS = SECRET_HEADERS | {"cookies"}
# An API key or bearer token written out in text (an error message, a breadcrumb, a header the SDK flattened).
# Only credential-shaped words (long, no spaces) after the scheme, so "the token expired" stays readable.
CREDENTIAL = re.compile(r"\b(Token|Bearer) [A-Za-z0-9._~+/=-]{16,}")
# Query parameters that hold a credential.
SECRET_PARAMETER = re.compile(r"(?i)\b((?:[\w-]*token|key|password|secret|sessionid|csrfmiddlewaretoken)=)[^&\s#\"']*")


def _scrubbed(value):
    if isinstance(value, str):
        return SECRET_PARAMETER.sub(rf"\g<1>{REDACTED}", CREDENTIAL.sub(rf"\g<1> {REDACTED}", secrets_redact(value)))
    if isinstance(value, dict):
        return {
            key: REDACTED if isinstance(key, str) and key.lower() in SECRET_KEYS else _scrubbed(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        # Headers may come as [name, value] pairs.
        if len(value) == 2 and isinstance(value[0], str) and value[0].lower() in SECRET_HEADERS:
            return [value[0], REDACTED]
        return [_scrubbed(item) for item in value]
    return value


def event_scrub(event: dict, hint: dict | None = None) -> dict:
    """Sentry's before_send and before_send_transaction: the SDK's own scrubber masks credentials by field name
    (headers, cookies, local variables called `token`), but not inside text. A share link's token is the whole
    credential and sits in the URL path, so every string of the event (request URL, query string, headers,
    breadcrumbs, span descriptions, exception messages) is masked too.
    """
    return _scrubbed(event)


def sentry_init(*, dsn: str, environment: str, traces_sample_rate: float = 0.0) -> None:
    """Report unhandled errors of the web app (Django integration) and, through the run lifecycle, the workers'.

    No personal data (the SDK's default): reviewers' names, e-mails and IP addresses stay out of the events.
    """
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    from assets import SEED_VERSION

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=f"seed@{SEED_VERSION}",
        traces_sample_rate=traces_sample_rate,
        before_send=event_scrub,
        before_send_transaction=event_scrub,
        # The run lifecycle reports a job's crash itself, with its row; its log line would be a second event.
        integrations=[DjangoIntegration(), LoggingIntegration(event_level=None)],
    )
