"""Review templates: the stages a brief's rounds run through, reusable across briefs by name (as Ziflow's workflow
templates are). Stages of the same step run in parallel; the next step opens once every stage of a step approved."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from assets.access import Access
from review.models.rounds import ReviewRound


class ReviewTemplate(models.Model):
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    holidays = models.JSONField(
        default=list,
        blank=True,
        help_text="Dates (YYYY-MM-DD) that business-day deadlines skip, besides weekends",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # Studio rows shared by every client's briefs: producers bound to a client use them, only unbound staff edit them.
    access = Access(scoped_reads=True, studio_wide_writes=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReviewStage(models.Model):
    """One stage of a template: who decides, by which rule, within how many business days, and what then."""

    class Audience(models.TextChoices):
        INTERNAL = "internal", "Internal"
        LEGAL = "legal", "Legal"
        BRAND = "brand", "Brand"
        CLIENT = "client", "Client"

    class AtDeadline(models.TextChoices):
        ESCALATE = "escalate", "Escalate, keep waiting"
        MOVE_ON = "move_on", "Escalate, move on with what was decided"

    template = models.ForeignKey(ReviewTemplate, on_delete=models.CASCADE, related_name="stages")
    step = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1)], help_text="Stages with the same step run in parallel"
    )
    name = models.CharField(max_length=80)
    audience = models.CharField(
        max_length=20,
        choices=Audience.choices,
        default=Audience.INTERNAL,
        help_text="Legal and brand are studio-side stages; only a client stage reaches the client",
    )
    deciders = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    decider_groups = models.JSONField(
        default=list, blank=True, help_text="Names of user groups: every active member decides"
    )
    rule = models.CharField(max_length=20, choices=ReviewRound.Rule.choices, default=ReviewRound.Rule.ALL)
    deadline_days = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1)], help_text="Business days (Monday to Friday) from its start"
    )
    at_deadline = models.CharField(
        max_length=20,
        choices=AtDeadline.choices,
        default=AtDeadline.ESCALATE,
        help_text="Overdue: the producer is told once; moving on closes with the decisions made",
    )
    downloads = models.BooleanField(
        default=False, help_text="Reviewers of this stage may open full-resolution files; off: previews only"
    )

    access = Access(scoped_reads=True, studio_wide_writes=True)

    class Meta:
        ordering = ["template", "step", "id"]
        constraints = [models.UniqueConstraint(fields=["template", "name"], name="stage_name_once_per_template")]

    def __str__(self) -> str:
        return f"{self.template} · {self.step}. {self.name}"

    @property
    def round_stage(self) -> str:
        """The round's audience as access rules read it: legal and brand rounds are internal rounds."""
        return ReviewRound.Stage.CLIENT if self.audience == self.Audience.CLIENT else ReviewRound.Stage.INTERNAL
