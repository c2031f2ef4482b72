"""The demo's review stage: curate, run an internal round, then a client round through a share link."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from assets.models import ClientMembership, Version
from review.models import Decision, ReviewRound
from review.roles import CLIENT_REVIEWER, INTERNAL_REVIEWER, PRODUCER, roles_ensure
from review.selectors import version_final_approval
from review.services.curation import checklist_ensure, checklist_tick, rating_set, versions_triage
from review.services.rounds import PinInput, decision_record, round_open
from review.services.share_links import share_link_create, share_link_resolve, share_link_use


def _user(username: str, group: str, *, staff: bool = True):
    user, created = get_user_model().objects.get_or_create(username=username, defaults={"is_staff": staff})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    user.groups.add(Group.objects.get(name=group))
    return user


def review_stage(*, context: dict) -> dict:
    roles_ensure()
    brief = context["brief"]
    producer = context["user"]
    producer.groups.add(Group.objects.get(name=PRODUCER))
    reviewer = _user("rita.reviewer", INTERNAL_REVIEWER)
    client_user = _user("cleo.client", CLIENT_REVIEWER)
    ClientMembership.objects.get_or_create(user=client_user, client=brief.campaign.client)

    approved = next((v for v in brief.versions.order_by("pk") if version_final_approval(version=v)), None)
    if approved is not None:
        context["approved_master"] = approved
        return {"approved_master": approved.pk, "approval": version_final_approval(version=approved).pk,
                "sha256": approved.blob_id, "rounds": list(brief.review_rounds.order_by("number").values_list("pk", flat=True))}

    candidates = list(brief.versions.exclude(status=Version.Status.REJECTED).order_by("pk"))
    master = next((v for v in candidates if v.pk == context.get("generated_master")), candidates[-1])
    others = [v for v in candidates if v.pk != master.pk]
    items = checklist_ensure(brief=brief)
    for stars, version in zip((5, 4, 3, 2, 1), [master, *others]):
        rating_set(version=version, reviewer=reviewer, stars=stars)
    for item in items:
        checklist_tick(version=master, item=item, checked=True, reviewer=reviewer)
    # Curate: keep the master and a runner-up, park a few for other briefs, reject and regenerate the rest.
    versions_triage(versions=[master, *others[:1]], triage=Version.Triage.KEEP, actor=producer)
    versions_triage(versions=others[1:5], triage=Version.Triage.MAYBE_LATER, actor=producer)
    versions_triage(versions=others[5:9], triage=Version.Triage.REJECT, actor=producer)
    versions_triage(versions=others[9:], triage=Version.Triage.REGENERATE, actor=producer)

    internal = round_open(brief=brief, versions=[master], stage=ReviewRound.Stage.INTERNAL, opened_by=producer,
                          reviewers=[reviewer], title="Internal check")
    decision_record(review_round=internal, version=master, verdict=Decision.Verdict.APPROVE, reviewer=reviewer,
                    comment="Palette on brand, product in focus.")

    client_round = round_open(brief=brief, versions=[master], stage=ReviewRound.Stage.CLIENT, opened_by=producer,
                              reviewers=[client_user], title="Client sign-off")
    link, token = share_link_create(review_round=client_round, expires=timezone.localdate() + dt.timedelta(days=7),
                                    created_by=producer, label="Client sign-off link")
    # The client's guest answers through the link, exactly as the share page does.
    guest_link = share_link_resolve(token=token)
    share_link_use(link=guest_link, action="view")
    decision_record(review_round=client_round, version=master, verdict=Decision.Verdict.APPROVE, share_link=guest_link,
                    guest_name="Marco (Aurora Soda Co. brand team)", comment="Love the can's highlight here.",
                    pins=[PinInput(x=0.4, y=0.55, w=0.2, h=0.2, note="keep this highlight")])
    decision_record(review_round=client_round, version=master, verdict=Decision.Verdict.APPROVE, reviewer=client_user,
                    comment="Signed off for delivery.")
    master.refresh_from_db()
    approval = version_final_approval(version=master)
    context["approved_master"] = master
    return {"approved_master": master.pk, "approval": approval.pk if approval else None, "sha256": master.blob_id,
            "rounds": [internal.pk, client_round.pk], "share_link": link.pk, "share_url": reverse("share-page", args=[token]),
            "users": {"internal_reviewer": reviewer.username, "client_reviewer": client_user.username}}
