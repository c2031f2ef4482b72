"""Review templates as a studio defines them: the shape a template must have, and a template made from a list of
stages (the demo's, a studio's set-up script)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from assets.errors import ApplicationError
from review.models import ReviewRound, ReviewStage, ReviewTemplate


def template_steps_check(*, steps: list[int]) -> None:
    """A template runs step 1, then 2, and so on: at least one stage, no step skipped, and one stage alone in the
    last step, whose approval is the final one delivery accepts."""
    if not steps:
        raise ApplicationError("a review template needs at least one stage")
    present = sorted(set(steps))
    if present != list(range(1, len(present) + 1)):
        raise ApplicationError(
            f"steps must run 1, 2, 3… without a gap; this template has steps {', '.join(map(str, present))}"
        )
    if steps.count(present[-1]) > 1:
        raise ApplicationError(
            f"the last step ({present[-1]}) must be one stage: its approval is the final one; "
            "add a step after the parallel stages"
        )


@dataclass(frozen=True)
class StageSpec:
    step: int
    name: str
    audience: str = ReviewStage.Audience.INTERNAL
    deciders: list = field(default_factory=list)
    decider_groups: list[str] = field(default_factory=list)  # group names
    rule: str = ReviewRound.Rule.ALL
    deadline_days: int = 2
    at_deadline: str = ReviewStage.AtDeadline.ESCALATE
    downloads: bool = False


def review_template_ensure(*, name: str, stages: list[StageSpec], description: str = "") -> ReviewTemplate:
    """The template of this name, made from `stages` when it does not exist yet; an existing one is left as the
    studio keeps it."""
    existing = ReviewTemplate.objects.filter(name=name).first()
    if existing is not None:
        return existing
    template_steps_check(steps=[spec.step for spec in stages])
    bad = [spec.name for spec in stages if spec.deadline_days < 1]
    if bad:
        raise ApplicationError(f"a stage's deadline is at least one business day: {', '.join(bad)}")
    with transaction.atomic():
        template = ReviewTemplate.objects.create(name=name, description=description)
        for spec in stages:
            stage = ReviewStage.objects.create(
                template=template,
                step=spec.step,
                name=spec.name,
                audience=spec.audience,
                rule=spec.rule,
                deadline_days=spec.deadline_days,
                at_deadline=spec.at_deadline,
                downloads=spec.downloads,
                decider_groups=list(spec.decider_groups),
            )
            stage.deciders.set(spec.deciders)
    return template
