"""POST /api/auth/token/: an API key for a username and password."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from assets.services.tokens import api_token_issue


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})

    def validate(self, attrs):
        user = authenticate(request=self.context.get("request"), username=attrs["username"], password=attrs["password"])
        if user is None:
            raise serializers.ValidationError("unable to sign in with these credentials")
        return {"user": user}


class IssuedTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The key, shown this once: send it as `Authorization: Token <key>`")
    expires = serializers.DateTimeField()


class ApiTokenObtainView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    # Password guessing: a few tries a minute per address (SEED_API_TOKEN_RATE).
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "api-token"

    @extend_schema(
        request=CredentialsSerializer,
        responses={
            200: IssuedTokenSerializer,
            429: OpenApiResponse(description="Too many requests from this address; retry after `Retry-After` seconds"),
        },
    )
    def post(self, request):
        """A new API key, valid for SEED_API_TOKEN_DAYS days; each call issues another."""
        credentials = CredentialsSerializer(data=request.data, context={"request": request})
        credentials.is_valid(raise_exception=True)
        token, key = api_token_issue(user=credentials.validated_data["user"])
        return Response(IssuedTokenSerializer({"token": key, "expires": token.expires_at}).data)
