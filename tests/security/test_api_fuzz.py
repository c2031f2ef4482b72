"""Schemathesis against our own OpenAPI schema, signed in as a producer: no 5xx, every documented answer as documented.

Bounded and derandomized so `make test` stays fast and a failure reproduces; run with SEED_FUZZ_EXAMPLES=200
for a deeper pass.
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from assets.services.tokens import api_token_issue

EXAMPLES = int(os.environ.get("SEED_FUZZ_EXAMPLES", "6"))


def _schema():
    from django.core.wsgi import get_wsgi_application

    return schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


schema = _schema()


@pytest.fixture
def connection_kept():
    """Like Django's test client: requests must not close the connection that holds the test's transaction."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_holds_up_to_generated_requests(case, cast, connection_kept):
    _, key = api_token_issue(user=cast["alice"])
    case.call_and_validate(
        headers={"Authorization": f"Token {key}"},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance],
    )
