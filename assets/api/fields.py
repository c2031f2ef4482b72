"""Related fields that offer only the rows the caller may see: an id of another client's row is refused as missing."""

from rest_framework import serializers
from rest_framework.relations import MANY_RELATION_KWARGS

from assets.access import visible


class VisibleRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary key chosen among the rows the model's access lets the request's user read.

    Without a request in the serializer's context nothing is offered: a serializer used outside a request must say
    whose choice it checks.
    """

    def get_queryset(self):
        queryset = super().get_queryset()
        request = self.context.get("request")
        if request is None:
            return queryset.none()
        return visible(queryset, user=request.user)

    @classmethod
    def many_init(cls, *args, **kwargs):
        relation = {key: value for key, value in kwargs.items() if key in MANY_RELATION_KWARGS}
        return VisibleManyRelatedField(child_relation=cls(*args, **kwargs), **relation)


class VisibleManyRelatedField(serializers.ManyRelatedField):
    """Lists of related ids, in and out: a studio-wide row (a licence) lists only the versions and references of
    clients the reader may see."""

    def get_attribute(self, instance):
        related = super().get_attribute(instance)
        request = self.context.get("request")
        if request is None or not hasattr(related, "model"):
            return related
        return visible(related, user=request.user)


class VisibleModelSerializer(serializers.ModelSerializer):
    """A model serializer whose generated relations are VisibleRelatedFields."""

    serializer_related_field = VisibleRelatedField
