"""Curation: stars and the brief's checklist, ticked per version."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from assets.access import Access

DEFAULT_CHECKLIST = ("Brand colour present", "Eye-line towards lens", "No anatomical glitches")


class Rating(models.Model):
    """Stars 0–5 given by one reviewer to one version; a reviewer changes their own rating in place."""

    version = models.ForeignKey("assets.Version", on_delete=models.PROTECT, related_name="ratings")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ratings")
    stars = models.PositiveSmallIntegerField(validators=[MinValueValidator(0), MaxValueValidator(5)])
    updated_at = models.DateTimeField(auto_now=True)

    access = Access(client="version__brief__campaign__client")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "reviewer"], name="rating_once_per_reviewer"),
            models.CheckConstraint(condition=Q(stars__gte=0, stars__lte=5), name="rating_stars_0_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.stars}★ v{self.version_id} by {self.reviewer}"


class ChecklistItem(models.Model):
    """One line of a brief's curation checklist; retired items stay for the ticks that reference them."""

    brief = models.ForeignKey("assets.Brief", on_delete=models.PROTECT, related_name="checklist_items")
    label = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    access = Access(client="brief__campaign__client")

    class Meta:
        ordering = ["brief", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["brief", "label"], name="checklist_label_once_per_brief")]

    def __str__(self) -> str:
        return self.label


class ChecklistTick(models.Model):
    version = models.ForeignKey("assets.Version", on_delete=models.PROTECT, related_name="checklist_ticks")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="ticks")
    checked = models.BooleanField()
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    access = Access(client="version__brief__campaign__client")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["version", "item"], name="tick_once_per_item")]
