from django.urls import path
from rest_framework.routers import DefaultRouter

from generation.api import views

router = DefaultRouter()
router.include_root_view = False  # the core router owns /api/
router.register("jobs", views.JobViewSet, basename="generationjob")
router.register("reproductions", views.ReproductionViewSet, basename="reproductionrun")
router.register("grids", views.GridViewSet, basename="gridjob")

urlpatterns = [
    path("versions/<int:pk>/regenerate/", views.VersionRegenerateView.as_view(), name="version-regenerate"),
    path("versions/<int:pk>/reproduce/", views.VersionReproduceView.as_view(), name="version-reproduce"),
    path("versions/<int:pk>/comfyui/", views.VersionComfyWorkflowView.as_view(), name="version-comfyui"),
    path(
        "versions/<int:pk>/regenerate-import/",
        views.VersionRegenerateImportView.as_view(),
        name="version-regenerate-import",
    ),
    *router.urls,
]
