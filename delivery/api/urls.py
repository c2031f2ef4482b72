from django.urls import path
from rest_framework.routers import DefaultRouter

from delivery.api import impact, resolution, retouch, views

router = DefaultRouter()
router.include_root_view = False  # the core router owns /api/
router.register("presets", views.PresetViewSet, basename="channelpreset")
router.register("deliveries", views.DeliveryViewSet, basename="delivery")

urlpatterns = [
    # What the core's inputs went into, down to the deliveries: pages of the core's rows, answered here.
    path("references/<int:pk>/impact/", impact.ReferenceImpactView.as_view(), name="reference-impact"),
    path("prompts/<int:pk>/impact/", impact.PromptImpactView.as_view(), name="prompt-impact"),
    path("model-weights/<int:pk>/impact/", impact.ModelWeightsImpactView.as_view(), name="modelweights-impact"),
    path("licences/<int:pk>/impact/", impact.LicenceImpactView.as_view(), name="licence-impact"),
    path("deliveries/<int:pk>/bundle/", views.DeliveryBundleView.as_view(), name="delivery-bundle"),
    path("verify/", views.VerifyView.as_view(), name="verify"),
    path("versions/<int:pk>/retouch-export/", retouch.RetouchExportView.as_view(), name="version-retouch-export"),
    # The C2PA Soft Binding Resolution API, answered from the manifests Seed signed.
    path("c2pa/matches/byBinding", resolution.MatchesByBindingView.as_view(), name="c2pa-matches-by-binding"),
    path("c2pa/matches/byContent", resolution.MatchesByContentView.as_view(), name="c2pa-matches-by-content"),
    path("c2pa/manifests/<str:manifest_id>", resolution.ManifestView.as_view(), name="c2pa-manifest"),
    path(
        "c2pa/services/supportedAlgorithms",
        resolution.SupportedAlgorithmsView.as_view(),
        name="c2pa-supported-algorithms",
    ),
    *router.urls,
]
