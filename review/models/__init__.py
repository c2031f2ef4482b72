from .curation import DEFAULT_CHECKLIST, ChecklistItem, ChecklistTick, Rating
from .decisions import Approval, Decision, Pin
from .notes import Note
from .notifications import Notification, NotificationPreference, WebhookDelivery, WebhookEndpoint
from .rounds import ReviewPolicy, ReviewRound, RoundReviewer, RoundVersion, ShareLink
from .stages import ReviewStage, ReviewTemplate

__all__ = [
    "DEFAULT_CHECKLIST",
    "Rating",
    "ChecklistItem",
    "ChecklistTick",
    "ReviewRound",
    "RoundReviewer",
    "ReviewPolicy",
    "RoundVersion",
    "ShareLink",
    "ReviewTemplate",
    "ReviewStage",
    "Decision",
    "Pin",
    "Approval",
    "Note",
    "NotificationPreference",
    "Notification",
    "WebhookEndpoint",
    "WebhookDelivery",
]
