"""The API's token scheme: `Authorization: Token <key>` checked against the sha256 kept in ApiToken."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from assets.errors import ApplicationError


class ApiTokenAuthentication(TokenAuthentication):
    """DRF's header parsing and 401 answers, with keys looked up by digest and refused once expired."""

    def authenticate_credentials(self, key):
        # DRF imports this class while it imports its views, which can be before the models are ready.
        from assets.services.tokens import api_token_use

        try:
            token = api_token_use(key=key)
        except ApplicationError as exc:
            raise exceptions.AuthenticationFailed(exc.message) from exc
        return token.user, token
