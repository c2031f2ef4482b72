"""Error reporting to Sentry, set up from settings only when SENTRY_DSN is given."""

from __future__ import annotations


def sentry_init(*, dsn: str, environment: str, traces_sample_rate: float = 0.0) -> None:
    """Report unhandled errors of the web app (Django integration) and, through the run lifecycle, the workers'.

    No personal data (the SDK's default): reviewers' names, e-mails and IP addresses stay out of the events.
    """
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    from assets import SEED_VERSION

    sentry_sdk.init(dsn=dsn, environment=environment, release=f"seed@{SEED_VERSION}",
                    traces_sample_rate=traces_sample_rate,
                    # The run lifecycle reports a job's crash itself, with its row; its log line would be a second event.
                    integrations=[DjangoIntegration(), LoggingIntegration(event_level=None)])
