from django.urls import path
from rest_framework.routers import DefaultRouter

from delivery.api import views

router = DefaultRouter()
router.include_root_view = False  # the core router owns /api/
router.register("presets", views.PresetViewSet, basename="channelpreset")
router.register("deliveries", views.DeliveryViewSet, basename="delivery")

urlpatterns = [
    path("deliveries/<int:pk>/bundle/", views.DeliveryBundleView.as_view(), name="delivery-bundle"),
    path("verify/", views.VerifyView.as_view(), name="verify"),
    path("versions/<int:pk>/finishing/", views.VersionFinishingView.as_view(), name="version-finishing"),
    path("versions/<int:pk>/upscale/", views.VersionUpscaleView.as_view(), name="version-upscale"),
    path("versions/<int:pk>/palette-snap/", views.VersionPaletteSnapView.as_view(), name="version-palette-snap"),
    path("versions/<int:pk>/matte/", views.VersionMatteView.as_view(), name="version-matte"),
    path("versions/<int:pk>/vectorise/", views.VersionVectoriseView.as_view(), name="version-vectorise"),
    path("derived-files/<int:pk>/refine/", views.MaskRefineView.as_view(), name="derivedfile-refine"),
    *router.urls,
]
