from django.urls import path
from rest_framework.routers import DefaultRouter

from review.api import views

router = DefaultRouter()
router.include_root_view = False  # the core router owns /api/
router.register("rounds", views.RoundViewSet, basename="reviewround")
router.register("share-links", views.ShareLinkViewSet, basename="sharelink")
router.register("notes", views.NoteViewSet, basename="note")

# Listed before the core's router so /versions/triage/ is not read as a version id.
urlpatterns = [
    path("versions/triage/", views.VersionTriageView.as_view(), name="version-triage"),
    path("versions/<int:pk>/rating/", views.VersionRatingView.as_view(), name="version-rating"),
    path("versions/<int:pk>/checklist/", views.VersionChecklistView.as_view(), name="version-checklist"),
    path("versions/<int:pk>/diff/<int:other>/", views.VersionDiffView.as_view(), name="version-diff"),
    path("versions/<int:pk>/open-notes/", views.VersionOpenNotesView.as_view(), name="version-open-notes"),
    path("briefs/<int:pk>/checklist/", views.BriefChecklistView.as_view(), name="brief-checklist"),
    path("briefs/<int:pk>/pool/", views.BriefPoolView.as_view(), name="brief-pool"),
    path("briefs/<int:pk>/cycle-stats/", views.BriefCycleStatsView.as_view(), name="brief-cycle-stats"),
    path("briefs/<int:pk>/cycles/", views.BriefCyclesView.as_view(), name="brief-cycles"),
    path("clients/<int:pk>/cycles/", views.ClientCyclesView.as_view(), name="client-cycles"),
    path("me/notifications/", views.MyNotificationsView.as_view(), name="my-notifications"),
    path("grids/<int:pk>/round/", views.GridRoundView.as_view(), name="gridjob-round"),
    *router.urls,
]
