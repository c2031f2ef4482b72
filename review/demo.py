"""The demo's review stage: curate, then run the brief's review template (internal → legal ∥ brand → client) by
itself, the client signing off through a share link."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from assets.demo import worker_wait
from assets.errors import ApplicationError
from assets.models import ClientMembership, Derivation, Version
from assets.notification_kinds import NotificationKind
from review.demo_stages import copy_reading, demo_policy_ensure, legal_and_brand, stage_path
from review.models import Decision, Notification, ReviewRound, RoundReviewer, ShareLink
from review.roles import CLIENT_REVIEWER, INTERNAL_REVIEWER, PRODUCER, roles_ensure
from review.selectors import version_final_approval
from review.services.curation import checklist_ensure, checklist_tick, rating_set, versions_triage
from review.services.invitations import invitation_viewed
from review.services.notes import note_add, note_fix, note_resolve
from review.services.rounds import PinInput, decision_record, round_open
from review.services.share_links import share_link_use

GUEST_EMAIL = "marco@aurora-soda.example"
OUTBOX_BACKEND = "review.mail.OutboxBackend"


def _user(username: str, group: str, *, staff: bool = True):
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"is_staff": staff, "email": f"{username}@seed-demo.example"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    user.groups.add(Group.objects.get(name=group))
    return user


def _cast(*, brief, producer):
    """The demo's people: the producer running it, an internal reviewer, the studio's legal and brand leads, and a
    reviewer of the brief's client."""
    roles_ensure()
    producer.groups.add(Group.objects.get(name=PRODUCER))
    reviewer = _user("rita.reviewer", INTERNAL_REVIEWER)
    client_user = _user("cleo.client", CLIENT_REVIEWER)
    ClientMembership.objects.get_or_create(user=client_user, client=brief.campaign.client)
    return reviewer, client_user, _user("lena.legal", INTERNAL_REVIEWER), _user("bram.brand", INTERNAL_REVIEWER)


def _approved_before(*, context: dict, brief, approved: Version) -> dict:
    """A rerun on a brief whose master was already signed off reviews nothing again."""
    context["approved_master"] = approved
    return {
        "approved_master": approved.pk,
        "approval": version_final_approval(version=approved).pk,
        "sha256": approved.blob_id,
        "rounds": list(brief.review_rounds.order_by("number").values_list("pk", flat=True)),
    }


def _curate(*, brief, master_id: int | None, reviewer, producer, aside=()) -> tuple[Version, list[Version]]:
    """Rate and tick the candidates (`aside`: versions that are no candidate), then triage them; returns the master
    and the others, best first."""
    candidates = list(
        brief.versions.exclude(status=Version.Status.REJECTED).exclude(pk__in=[v.pk for v in aside]).order_by("pk")
    )
    master = next((v for v in candidates if v.pk == master_id), candidates[-1])
    others = [v for v in candidates if v.pk != master.pk]
    items = checklist_ensure(brief=brief)
    for stars, version in zip((5, 4, 3, 2, 1), [master, *others], strict=False):
        rating_set(version=version, reviewer=reviewer, stars=stars)
    for item in items:
        checklist_tick(version=master, item=item, checked=True, reviewer=reviewer)
    # Curate: keep the master and a runner-up, park a few for other briefs, reject and regenerate the rest.
    versions_triage(versions=[master, *others[:1]], triage=Version.Triage.KEEP, actor=producer)
    versions_triage(versions=others[1:5], triage=Version.Triage.MAYBE_LATER, actor=producer)
    versions_triage(versions=others[5:9], triage=Version.Triage.REJECT, actor=producer)
    versions_triage(versions=others[9:], triage=Version.Triage.REGENERATE, actor=producer)
    return master, others


def review_stage(*, context: dict) -> dict:
    brief = context["brief"]
    producer = context["user"]
    reviewer, client_user, legal, brand = _cast(brief=brief, producer=producer)
    approved = next((v for v in brief.versions.order_by("pk") if version_final_approval(version=v)), None)
    if approved is not None:
        return _approved_before(context=context, brief=brief, approved=approved)

    overlay = context.get("copy_overlay")
    master, others = _curate(
        brief=brief,
        master_id=context.get("generated_master"),
        reviewer=reviewer,
        producer=producer,
        aside=[overlay] if overlay else [],
    )
    template = demo_policy_ensure(brief=brief, reviewer=reviewer, legal=legal, brand=brand, guest=GUEST_EMAIL)
    first = round_open(
        brief=brief,
        versions=[master, *others[:1], *([overlay] if overlay else [])],
        stage=ReviewRound.Stage.INTERNAL,
        opened_by=producer,
        reviewers=[reviewer],
        title="Internal check",
    )
    copy_read = copy_reading(overlay=overlay) if overlay else None
    master = _review_with_a_fixed_region(
        first=first,
        master=master,
        runner_up=others[0] if others else None,
        overlay=overlay,
        reviewer=reviewer,
        producer=producer,
    )
    internal = ReviewRound.objects.get(previous=first)
    stages = legal_and_brand(internal=internal, reviewer=reviewer, legal=legal)
    client_round = stages["client"]
    link, sent = _client_sign_off(client_round=client_round, master=master, client_user=client_user)
    master.refresh_from_db()
    context["approved_master"] = master
    return {
        "approved_master": master.pk,
        "rounds": [first.pk, internal.pk, stages["legal"].pk, stages["brand"].pk, client_round.pk],
        **_stages_summary(template=template, stages=stages, master=master),
        "client_round_opened_by": "automation",
        "copy_read": copy_read,
        "share_link": link.pk,
        "workspace": reverse("admin:review_reviewround_workspace", args=[internal.pk]),
        "guest_invitation": sent.pk,
        "share_url": _outbox_share_url(sent),
        "users": {
            "internal_reviewer": reviewer.username,
            "legal": legal.username,
            "brand": brand.username,
            "client_reviewer": client_user.username,
        },
    }


def _stages_summary(*, template, stages: dict, master: Version) -> dict:
    """What the template did: its path, each round and how it closed, and the brand stage's deadline passing."""
    approval = version_final_approval(version=master)
    return {
        "approval": approval.pk if approval else None,
        "sha256": master.blob_id,
        "stages": stage_path(template),
        "stage_rounds": _stage_rounds(master.brief),
        "brand_deadline_passed": {
            "clock_at": stages["clock"].isoformat(),
            "escalated_to": stages["escalation"].email,
            "notice": stages["escalation"].subject,
            "audit_event": stages["audit"].pk,
        },
    }


def _stage_rounds(brief) -> list[str]:
    """Each round as the summary prints it: number, stage, how it closed."""
    lines = []
    for review_round in brief.review_rounds.select_related("review_stage").order_by("number"):
        stage = review_round.review_stage
        moved_on = review_round.escalated_at and stage.at_deadline == stage.AtDeadline.MOVE_ON
        how = "open" if review_round.closed_at is None else ("at its deadline" if moved_on else "by decisions")
        lines.append(f"round {review_round.number}: {stage.name if stage else review_round.stage} ({how})")
    return lines


def _client_sign_off(*, client_round: ReviewRound, master: Version, client_user) -> tuple[ShareLink, Notification]:
    """The guest approves through their share link, then the client's reviewer signs off; returns the guest's link
    and the invitation that carried it."""
    # The guest decides through the share link their invitation e-mail carries, however the mail went out: a
    # decider's link of any other kind leaves the round waiting on them. Its token exists in clear in that e-mail
    # only, so the demo takes the link from the invitation, once the worker has sent it.
    sent = worker_wait(lambda: _invitation_sent(client_round, GUEST_EMAIL), "sending the guest's invitation e-mail")
    link = (
        RoundReviewer.objects.select_related("share_link")
        .get(review_round=client_round, guest_email=GUEST_EMAIL)
        .share_link
    )
    share_link_use(link=link, action="view")
    invitation_viewed(review_round=client_round, share_link=link)
    decision_record(
        review_round=client_round,
        version=master,
        verdict=Decision.Verdict.APPROVE,
        share_link=link,
        guest_name="Marco (Aurora Soda Co. brand team)",
        comment="Love the can's highlight here.",
        pins=[PinInput(x=0.4, y=0.55, w=0.2, h=0.2, note="keep this highlight")],
    )
    decision_record(
        review_round=client_round,
        version=master,
        verdict=Decision.Verdict.APPROVE,
        reviewer=client_user,
        comment="Signed off for delivery.",
    )
    return link, sent


def _review_with_a_fixed_region(
    *, first: ReviewRound, master: Version, runner_up: Version | None, overlay: Version | None, reviewer, producer
) -> Version:
    """What a reviewer does in the workspace, through the same services: mark up and discuss, request changes, have
    the marked region repainted by the worker, and approve the fix with a note still open, which travels forward.

    Leaves round 1 with markup, a thread and a fixed note, and round 2 with the fix and the note carried onto it;
    returns the fixed version, the one the client then approves.
    """
    smudge, warmth = _changes_requested(
        first=first, master=master, runner_up=runner_up, overlay=overlay, reviewer=reviewer, producer=producer
    )
    smudge = note_fix(note=smudge, user=producer, prompt_text="a clean, crisp can edge, studio product photo")
    fixed = _fix_kept(note=smudge, producer=producer)
    # The kept fix joins the next round by itself; the warmth note is still open and travels onto it.
    second = round_open(
        brief=master.brief,
        versions=[fixed],
        stage=ReviewRound.Stage.INTERNAL,
        opened_by=producer,
        reviewers=[reviewer],
        title=f"Fixed region ({master.width}x{master.height})",
    )
    note_add(review_round=second, version=fixed, author=reviewer, parent=smudge, text="The edge is clean now, thanks.")
    note_resolve(note=smudge, user=reviewer)
    decision_record(
        review_round=second,
        version=fixed,
        verdict=Decision.Verdict.APPROVE_WITH_CHANGES,
        reviewer=reviewer,
        comment=f"Approved; the warmer highlight (note {warmth.pk}) can follow in finishing.",
    )
    return fixed


def _changes_requested(
    *, first: ReviewRound, master: Version, runner_up: Version | None, overlay: Version | None, reviewer, producer
):
    """Round 1's markup and threads, the changes requested on the master, the runner-up rejected and the copy overlay
    held for the layout pass (its copy is read back by the machine checks); returns the smudge note (the region to
    fix) and the warmth note (left open)."""
    smudge = note_add(
        review_round=first,
        version=master,
        author=reviewer,
        text=f"The can's edge is smudged here. @{producer.get_username()} can we repaint just this part?",
        markup=[{"type": "ellipse", "points": [[0.3, 0.35], [0.7, 0.65]]}],
    )
    note_add(review_round=first, version=master, author=producer, parent=smudge, text="Yes: fixing this region now.")
    warmth = note_add(
        review_round=first,
        version=master,
        author=reviewer,
        text="Warm the highlight a touch.",
        markup=[
            {"type": "arrow", "points": [[0.15, 0.15], [0.45, 0.4]]},
            {"type": "text", "points": [[0.1, 0.12]], "text": "warmer"},
        ],
    )
    decision_record(
        review_round=first,
        version=master,
        verdict=Decision.Verdict.CHANGES_REQUESTED,
        reviewer=reviewer,
        comment="Smudged edge on the can; see the marked region.",
    )
    if runner_up is not None:
        decision_record(
            review_round=first,
            version=runner_up,
            verdict=Decision.Verdict.REJECT,
            reviewer=reviewer,
            comment="The master is stronger.",
        )
    if overlay is not None:
        decision_record(
            review_round=first,
            version=overlay,
            verdict=Decision.Verdict.CHANGES_REQUESTED,
            reviewer=reviewer,
            comment="The copy reads back right; set it on the fixed master in the layout pass.",
        )
    return smudge, warmth


def _fix_kept(*, note, producer) -> Version:
    """Waits for the worker's repaint of the note's region and keeps its first image."""
    run = Derivation.objects.filter(pk=note.fixed_by_id)
    worker_wait(
        lambda: None if run.filter(state__in=[Derivation.State.QUEUED, Derivation.State.RUNNING]).exists() else True,
        "the fix of the marked region",
    )
    fixes = list(Version.objects.filter(generated_by__derivation_id=note.fixed_by_id).order_by("pk"))
    if not fixes:
        raise ApplicationError(f"the region fix made no image: {run.values_list('error', flat=True).first()}")
    fixed = fixes[0]
    versions_triage(versions=[fixed], triage=Version.Triage.KEEP, actor=producer)
    return fixed


def _invitation_sent(review_round: ReviewRound, address: str) -> Notification | None:
    """The guest's invitation once sent; one the mail server refused stops the demo with the server's answer."""
    invitation = Notification.objects.filter(
        review_round=review_round, email=address, kind=NotificationKind.INVITED
    ).first()
    if invitation is not None and invitation.state == Notification.State.FAILED:
        raise ApplicationError(f"the invitation to {address} was not sent: {invitation.error}")
    return invitation if invitation is not None and invitation.state == Notification.State.SUCCEEDED else None


def _outbox_share_url(sent: Notification) -> str | None:
    """The share page's address for the summary, read from the outbox's copy of the invitation; mail handed to an
    SMTP server left no copy here, and the address is then in the guest's mailbox only."""
    if settings.EMAIL_BACKEND != OUTBOX_BACKEND:
        return None
    path = Path(settings.SEED_OUTBOX_DIR) / f"notification-{sent.pk}.eml"
    with path.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=email.policy.default)
    found = re.search(r"/review/s/([A-Za-z0-9_-]+)/", message.get_body(preferencelist=("plain",)).get_content())
    if found is None:
        raise ApplicationError(f"{path} holds no share link")
    return reverse("share-page", args=[found.group(1)])


def notifications_stage(*, context: dict) -> dict:
    """Last: wait until the worker has sent every queued message, then say how many went and where."""
    queued = Notification.objects.filter(state__in=[Notification.State.QUEUED, Notification.State.RUNNING])
    worker_wait(lambda: None if queued.exists() else True, "sending the notifications")
    sent = Notification.objects.filter(state=Notification.State.SUCCEEDED)
    by_kind = {}
    for kind in sent.values_list("kind", flat=True):
        by_kind[kind] = by_kind.get(kind, 0) + 1
    outbox = Path(settings.SEED_OUTBOX_DIR)
    written = settings.EMAIL_BACKEND == OUTBOX_BACKEND
    return {
        "sent": sent.count(),
        "by_kind": by_kind,
        "failed": Notification.objects.filter(state=Notification.State.FAILED).count(),
        "outbox": str(outbox) if written else None,
        "outbox_files": len(list(outbox.glob("*.eml"))) if written else None,
        "smtp": f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}" if settings.EMAIL_HOST else None,
    }
