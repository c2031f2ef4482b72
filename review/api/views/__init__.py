from .curation import (
    BriefChecklistView,
    BriefPoolView,
    VersionChecklistView,
    VersionDiffView,
    VersionRatingView,
    VersionTriageView,
)
from .cycles import BriefCycleStatsView, BriefCyclesView, ClientCyclesView
from .notes import NoteViewSet, VersionOpenNotesView
from .preferences import MyNotificationsView
from .rounds import GridRoundView, RoundViewSet, ShareLinkViewSet

__all__ = [
    "BriefChecklistView",
    "BriefPoolView",
    "VersionChecklistView",
    "VersionDiffView",
    "VersionRatingView",
    "VersionTriageView",
    "BriefCyclesView",
    "BriefCycleStatsView",
    "ClientCyclesView",
    "NoteViewSet",
    "VersionOpenNotesView",
    "MyNotificationsView",
    "GridRoundView",
    "RoundViewSet",
    "ShareLinkViewSet",
]
