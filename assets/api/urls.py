from django.urls import path
from rest_framework.routers import DefaultRouter

from assets.api import checks, views

router = DefaultRouter()
router.register("clients", views.ClientViewSet)
router.register("campaigns", views.CampaignViewSet)
router.register("briefs", views.BriefViewSet)
router.register("references", views.ReferenceViewSet)
router.register("templates", views.PromptTemplateViewSet)
router.register("prompts", views.PromptViewSet)
router.register("model-weights", views.ModelWeightsViewSet)
router.register("licences", views.LicenceViewSet)
router.register("versions", views.VersionViewSet)
router.register("derivations", views.DerivationViewSet)
router.register("derived-files", views.DerivedFileViewSet)

urlpatterns = [
    path("versions/<int:pk>/checks/", checks.VersionChecksView.as_view(), name="version-checks"),
    path("checks/<int:pk>/overrule/", checks.VersionCheckOverruleView.as_view(), name="versioncheck-overrule"),
    path("checks/<int:pk>/artefact/", checks.VersionCheckArtefactView.as_view(), name="versioncheck-artefact"),
    *router.urls,
]
