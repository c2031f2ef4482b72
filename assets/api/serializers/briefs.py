"""Clients, their campaigns and briefs."""

from rest_framework import serializers

from assets.api.fields import VisibleModelSerializer, VisibleRelatedField
from assets.models import (
    Brief,
    Campaign,
    Client,
)


class ClientSerializer(VisibleModelSerializer):
    class Meta:
        model = Client
        fields = ["id", "name", "shares_lineage", "requires_ai_disclosure", "created_at"]
        read_only_fields = ["shares_lineage", "requires_ai_disclosure"]


class CampaignSerializer(VisibleModelSerializer):
    class Meta:
        model = Campaign
        fields = ["id", "client", "name", "created_at"]


class BriefSerializer(VisibleModelSerializer):
    client = serializers.IntegerField(source="campaign.client_id", read_only=True)

    class Meta:
        model = Brief
        fields = [
            "id",
            "campaign",
            "client",
            "title",
            "palette",
            "aspect",
            "channels",
            "content_type",
            "negative_prompt",
            "required_copy",
            "notes",
            "commercial_use",
            "ai_training",
            "created_at",
        ]
        read_only_fields = ["id", "client", "created_at"]


class BriefCreateSerializer(serializers.Serializer):
    campaign = VisibleRelatedField(queryset=Campaign.objects.all())
    title = serializers.CharField(max_length=200)
    palette = serializers.ListField(child=serializers.CharField(max_length=7), required=False, default=list)
    aspect = serializers.CharField(max_length=9, required=False, default="1:1")
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=Brief.Channel.choices), required=False, default=list
    )
    content_type = serializers.ChoiceField(
        choices=Brief.ContentType.choices, required=False, default=Brief.ContentType.CAMPAIGN
    )
    negative_prompt = serializers.CharField(required=False, allow_blank=True)
    required_copy = serializers.ListField(
        child=serializers.CharField(max_length=200, trim_whitespace=True),
        max_length=20,
        required=False,
        default=list,
        help_text="Words the images must carry legibly, each read back by OCR on review",
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    commercial_use = serializers.BooleanField(required=False, default=True)
    ai_training = serializers.ChoiceField(choices=Brief.AiUse.choices, required=False, default=Brief.AiUse.NOT_ALLOWED)
