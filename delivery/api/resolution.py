"""The C2PA Soft Binding Resolution API over Seed's manifest repository (OpenAPI 1.0.0 of the C2PA): a platform or
a validator holding a stripped file, or its soft binding, gets back the manifest Seed signed for it.

Answers are scoped like the rest of the API: a caller finds only manifests of files it may see.
"""

from __future__ import annotations

import io
import re

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from assets.access import versions_visible_to, visible
from assets.content_codes import ISCC_ALG, content_code_bits
from assets.credential_matching import CredentialMatch, credentials_by_bits, credentials_by_content
from assets.errors import ApplicationError
from assets.images import image_inspect
from assets.models import Credential
from assets.services.blobs import blob_staged
from delivery.selectors import VERIFY_FORMATS, VERIFY_MODES

C2PA_MEDIA_TYPE = "application/c2pa"
MAX_RESULTS = 100


class AssetParser(BaseParser):
    """The asset itself as the request body (byContent), capped like any upload."""

    media_type = "image/*"

    def parse(self, stream, media_type=None, parser_context=None):
        data = stream.read(settings.SEED_MAX_UPLOAD_BYTES + 1) if stream is not None else b""
        if len(data) > settings.SEED_MAX_UPLOAD_BYTES:
            raise ApplicationError(
                f"the asset is over the limit of {settings.SEED_MAX_UPLOAD_BYTES} bytes", extra={"code": "too_large"}
            )
        return data


class BindingSerializer(serializers.Serializer):
    alg = serializers.CharField(max_length=100, help_text=f"The soft binding algorithm: {ISCC_ALG}")
    value = serializers.CharField(max_length=200, help_text="The soft binding's value (an ISCC Content-Code Image)")


class MatchSerializer(serializers.Serializer):
    manifestId = serializers.CharField()  # noqa: N815 (the C2PA API's own names)
    endpoint = serializers.CharField()
    similarityScore = serializers.IntegerField(help_text="0–100")  # noqa: N815


class MatchesSerializer(serializers.Serializer):
    matches = MatchSerializer(many=True)


def _max_results(request) -> int:
    raw = request.query_params.get("maxResults", "10")
    # Only ASCII digits: str.isdigit() also takes "²", which int() refuses.
    if not re.fullmatch(r"[0-9]{1,3}", raw) or not 1 <= int(raw) <= MAX_RESULTS:
        raise ApplicationError(f"maxResults must be a whole number from 1 to {MAX_RESULTS}", extra={"code": "invalid"})
    return int(raw)


def _alg_check(alg: str | None) -> None:
    if alg != ISCC_ALG:
        raise ApplicationError(
            f"unsupported soft binding algorithm {alg!r}: this repository answers for {ISCC_ALG}",
            extra={"code": "unsupported_alg"},
        )


def _matches(request, found: list[CredentialMatch]) -> Response:
    endpoint = request.build_absolute_uri("/api/c2pa")
    rows = [
        {"manifestId": match.credential.manifest_id, "endpoint": endpoint, "similarityScore": match.similarity}
        for match in found
    ]
    return Response(MatchesSerializer({"matches": rows}).data)


def _scope(request) -> dict:
    return {
        "versions": versions_visible_to(user=request.user),
        "credentials": visible(Credential.objects.all(), user=request.user),
    }


class MatchesByBindingView(APIView):
    @extend_schema(
        operation_id="c2pa_matches_by_binding_get",
        parameters=[
            OpenApiParameter("alg", str, required=True),
            OpenApiParameter("value", str, required=True),
            OpenApiParameter("maxResults", int),
        ],
        responses=MatchesSerializer,
    )
    def get(self, request):
        return self._answer(request, request.query_params)

    @extend_schema(
        operation_id="c2pa_matches_by_binding_post",
        parameters=[OpenApiParameter("maxResults", int)],
        request=BindingSerializer,
        responses=MatchesSerializer,
    )
    def post(self, request):
        return self._answer(request, request.data)

    def _answer(self, request, given) -> Response:
        binding = BindingSerializer(data=given)
        binding.is_valid(raise_exception=True)
        _alg_check(binding.validated_data["alg"])
        try:
            bits = content_code_bits(binding.validated_data["value"])
        except ValueError as exc:
            raise ApplicationError(str(exc), extra={"code": "invalid_value"}) from None
        return _matches(request, credentials_by_bits(bits=bits, limit=_max_results(request), **_scope(request)))


class MatchesByContentView(APIView):
    parser_classes = [AssetParser]

    @extend_schema(
        operation_id="c2pa_matches_by_content",
        parameters=[OpenApiParameter("alg", str), OpenApiParameter("maxResults", int)],
        request={"image/*": bytes},
        responses=MatchesSerializer,
    )
    def post(self, request):
        _alg_check(request.query_params.get("alg", ISCC_ALG))
        limit = _max_results(request)
        data = request.data
        if not isinstance(data, bytes) or not data:
            raise ApplicationError(
                "send the asset itself as the body, with its image media type", extra={"code": "empty"}
            )
        with blob_staged(source=io.BytesIO(data)) as staged:
            image_inspect(path=staged.path, formats=VERIFY_FORMATS, modes=VERIFY_MODES)
            from PIL import Image

            with Image.open(staged.path) as image:
                image.load()
                found = credentials_by_content(image=image, limit=limit, **_scope(request))
        return _matches(request, found)


class ManifestView(APIView):
    @extend_schema(
        operation_id="c2pa_manifest",
        parameters=[OpenApiParameter("returnActiveManifest", bool)],
        responses={(200, C2PA_MEDIA_TYPE): bytes},
    )
    def get(self, request, manifest_id: str):
        credential = visible(Credential.objects.all(), user=request.user).filter(
            manifest_id=manifest_id, version__in=versions_visible_to(user=request.user)
        )
        found = credential.only("store", "manifest_id").first()
        if found is None:
            raise NotFound("no such manifest, or none you may see")
        response = HttpResponse(bytes(found.store), content_type=C2PA_MEDIA_TYPE)
        response["Content-Disposition"] = 'attachment; filename="manifest.c2pa"'
        return response


class SupportedAlgorithmsView(APIView):
    @extend_schema(operation_id="c2pa_supported_algorithms", responses=dict)
    def get(self, request):
        return Response({"watermarks": [], "fingerprints": [{"alg": ISCC_ALG}]})
