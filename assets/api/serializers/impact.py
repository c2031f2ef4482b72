"""What an input went into: clients, briefs, versions and deliveries."""

from rest_framework import serializers


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
