from django.urls import path
from rest_framework.routers import DefaultRouter

from generation.api import finishing, training, views

router = DefaultRouter()
router.include_root_view = False  # the core router owns /api/
router.register("jobs", views.JobViewSet, basename="generationjob")
router.register("reproductions", views.ReproductionViewSet, basename="reproductionrun")
router.register("grids", views.GridViewSet, basename="gridjob")
router.register("trainings", training.TrainingViewSet, basename="training")

urlpatterns = [
    path("operations/", finishing.OperationsView.as_view(), name="operations"),
    path("versions/<int:pk>/finishing/", finishing.VersionFinishingView.as_view(), name="version-finishing"),
    path("versions/<int:pk>/upscale/", finishing.VersionUpscaleView.as_view(), name="version-upscale"),
    path("versions/<int:pk>/palette-snap/", finishing.VersionPaletteSnapView.as_view(), name="version-palette-snap"),
    path("versions/<int:pk>/matte/", finishing.VersionMatteView.as_view(), name="version-matte"),
    path("versions/<int:pk>/vectorise/", finishing.VersionVectoriseView.as_view(), name="version-vectorise"),
    path("derived-files/<int:pk>/refine/", finishing.MaskRefineView.as_view(), name="derivedfile-refine"),
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
