from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from review.api import serializers as s
from review.models import NotificationPreference
from review.services.notifications import notification_preference_set


class MyNotificationsView(APIView):
    """How the signed-in user hears about reviews: immediately, in a daily digest, or not at all."""

    @extend_schema(responses=s.NotificationPreferenceSerializer)
    def get(self, request):
        preference = NotificationPreference.objects.filter(user=request.user).first()
        return Response({"mode": preference.mode if preference else NotificationPreference.Mode.IMMEDIATE})

    @extend_schema(request=s.NotificationPreferenceSerializer, responses=s.NotificationPreferenceSerializer)
    def put(self, request):
        data = s.NotificationPreferenceSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        preference = notification_preference_set(user=request.user, mode=data.validated_data["mode"])
        return Response({"mode": preference.mode})
