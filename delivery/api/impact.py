"""What an input went into, down to the deliveries: GET …/{id}/impact/ of a reference, prompt, model file or licence.

The lineage below an input is the core's (assets.selectors, assets.rights); which deliveries inherit it is known
here, so the page is delivery's, at the paths of the core's rows it describes.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from assets.access import versions_visible_to, visible
from assets.models import Licence, ModelWeights, Prompt, Reference
from assets.rights import versions_inheriting
from assets.selectors import versions_using_model_weights, versions_using_prompt, versions_using_reference
from delivery.selectors import impact_summary


class ImpactClientSerializer(serializers.Serializer):
    client = serializers.IntegerField()
    name = serializers.CharField()
    briefs = serializers.IntegerField()
    versions = serializers.IntegerField()
    deliveries = serializers.IntegerField()


class ImpactBriefSerializer(serializers.Serializer):
    brief = serializers.IntegerField()
    title = serializers.CharField()
    client = serializers.IntegerField()
    client_name = serializers.CharField()
    versions = serializers.IntegerField()
    deliveries = serializers.IntegerField()


class ImpactVersionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    brief = serializers.IntegerField()
    label = serializers.CharField()
    sha256 = serializers.CharField()
    status = serializers.CharField()
    op = serializers.CharField()


class ImpactDeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    brief = serializers.IntegerField()
    client = serializers.IntegerField()
    state = serializers.CharField()
    files = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class ImpactSerializer(serializers.Serializer):
    versions_total = serializers.IntegerField()
    deliveries_total = serializers.IntegerField()
    clients = ImpactClientSerializer(many=True)
    briefs = ImpactBriefSerializer(many=True)
    versions = ImpactVersionSerializer(many=True, help_text="The newest 1,000")
    deliveries = ImpactDeliverySerializer(many=True)


class ImpactView(APIView):
    """Every version the input went into, however many steps down, and every delivery of them, with counts per
    client and brief (what the user may see of it)."""

    model = None
    versions_of = None  # staticmethod: the input -> QuerySet[Version]

    @extend_schema(responses=ImpactSerializer)
    def get(self, request, pk):
        found = get_object_or_404(visible(self.model.objects.all(), user=request.user), pk=pk)
        versions = self.versions_of(found).filter(pk__in=versions_visible_to(user=request.user).values("pk"))
        return Response(impact_summary(versions=versions))


class ReferenceImpactView(ImpactView):
    model = Reference
    versions_of = staticmethod(lambda reference: versions_using_reference(reference=reference))


class PromptImpactView(ImpactView):
    model = Prompt
    versions_of = staticmethod(lambda prompt: versions_using_prompt(prompt=prompt))


class ModelWeightsImpactView(ImpactView):
    model = ModelWeights
    versions_of = staticmethod(lambda weights: versions_using_model_weights(weights=weights))


class LicenceImpactView(ImpactView):
    model = Licence
    versions_of = staticmethod(lambda licence: versions_inheriting(licences=[licence.pk]))
