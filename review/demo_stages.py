"""The demo's review template and the stages between the internal approval and the client: legal and brand side by
side, the brand stage passing its deadline on the review clock, escalated to the producer and moving on."""

from __future__ import annotations

import datetime as dt

from assets.demo import worker_wait
from assets.errors import ApplicationError
from assets.machine_check_selectors import machine_checks_of, machine_checks_pending
from assets.models import AuditEvent, Version
from review.models import Decision, Notification, ReviewPolicy, ReviewRound, ReviewStage, ReviewTemplate
from review.services.deadlines import deadlines_check
from review.services.rounds import decision_record
from review.services.templates import StageSpec, review_template_ensure

TEMPLATE_NAME = "Studio sign-off: internal → legal ∥ brand → client"


def demo_template(*, reviewer, legal, brand) -> ReviewTemplate:
    """Three steps: the studio's internal check, then legal and brand in parallel (brand moves on at its deadline
    with what was decided; both see previews only), then the client, who may open full-resolution files."""
    return review_template_ensure(
        name=TEMPLATE_NAME,
        description="The demo's review stages, as Ziflow-style automated workflows run them.",
        stages=[
            StageSpec(step=1, name="Internal", deciders=[reviewer], deadline_days=2, downloads=True),
            StageSpec(step=2, name="Legal", audience=ReviewStage.Audience.LEGAL, deciders=[legal], deadline_days=2),
            StageSpec(
                step=2,
                name="Brand",
                audience=ReviewStage.Audience.BRAND,
                deciders=[brand, reviewer],
                deadline_days=1,
                at_deadline=ReviewStage.AtDeadline.MOVE_ON,
            ),
            StageSpec(step=3, name="Client", audience=ReviewStage.Audience.CLIENT, deadline_days=3, downloads=True),
        ],
    )


def demo_policy_ensure(*, brief, reviewer, legal, brand, guest: str) -> ReviewTemplate:
    """The brief's policy names a template of stages that runs by itself: internal, then legal beside brand, then the
    client (its reviewer account and a guest e-mailed a share link of their own)."""
    template = demo_template(reviewer=reviewer, legal=legal, brand=brand)
    ReviewPolicy.objects.update_or_create(
        brief=brief, defaults={"automate_stages": True, "guest_emails": [guest], "template": template}
    )
    return template


def stage_path(template: ReviewTemplate) -> str:
    """The template's steps in order, parallel stages side by side, in ASCII: the summary prints JSON escaped."""
    steps: dict[int, list[str]] = {}
    for stage in template.stages.order_by("step", "pk"):
        steps.setdefault(stage.step, []).append(stage.name)
    return " -> ".join(" || ".join(names) for _, names in sorted(steps.items()))


def legal_and_brand(*, internal: ReviewRound, reviewer, legal) -> dict:
    """Legal approves; the internal reviewer approves (with changes) for brand while the brand lead stays silent,
    so the step waits until the brand stage's deadline, when the review clock (run here as it will run then)
    escalates it to the producer and closes it with what was decided, which opens the client stage. Returns the
    rounds and the notice."""
    legal_round = ReviewRound.objects.get(previous=internal, review_stage__name="Legal")
    brand_round = ReviewRound.objects.get(step_group=legal_round.step_group, review_stage__name="Brand")
    fixed = legal_round.items.get().version
    decision_record(
        review_round=legal_round,
        version=fixed,
        verdict=Decision.Verdict.APPROVE,
        reviewer=legal,
        comment="Claims and the required copy are cleared.",
    )
    decision_record(
        review_round=brand_round,
        version=fixed,
        verdict=Decision.Verdict.APPROVE_WITH_CHANGES,  # her warmth note is still open: it follows in finishing
        reviewer=reviewer,
        comment="Palette and logo clear space are on brand.",
    )
    if ReviewRound.objects.filter(previous=brand_round).exists():
        raise ApplicationError("the client stage opened before the brand stage was decided")
    clock = brand_round.deadline + dt.timedelta(minutes=1)
    deadlines_check(now=clock)
    brand_round.refresh_from_db()
    escalation = Notification.objects.get(review_round=brand_round, kind="stage_escalated")
    client_round = ReviewRound.objects.get(previous=brand_round)
    audited = AuditEvent.objects.get(kind="stage.escalated", object_id=brand_round.pk)
    return {
        "legal": legal_round,
        "brand": brand_round,
        "client": client_round,
        "clock": clock,
        "escalation": escalation,
        "audit": audited,
    }


def copy_reading(*, overlay: Version) -> dict:
    """What OCR read of the brief's copy on the overlay, once the worker measured the checks of its round."""
    worker_wait(lambda: None if machine_checks_pending(version_ids=[overlay.pk]) else True, "the copy overlay's checks")
    checks = [
        check for check in machine_checks_of(version_ids=[overlay.pk]).get(overlay.pk, []) if check.kind == "copy"
    ]
    if not checks:
        raise ApplicationError(f"no copy check was recorded on v{overlay.pk}: is the brief's required copy empty?")
    return {
        "version": overlay.pk,
        "readings": [
            {"copy": check.key.removeprefix("copy:"), "read": check.measure.get("read", ""), "verdict": check.verdict}
            for check in checks
        ],
    }
