"""Review templates: internal → (legal ∥ brand) → client running by itself through decisions and a deadline, with
escalation, business-day deadlines, downloads locked by stage, per-stage analytics and the admin's checks."""

import datetime as dt

import pytest
from django.test import Client

from assets.errors import ApplicationError
from assets.models import AuditEvent, Version
from review.cycles import cycles_of
from review.models import Approval, Notification, ReviewPolicy, ReviewRound, ReviewStage, ReviewTemplate
from review.roles import INTERNAL_REVIEWER
from review.selectors import rounds_visible_to
from review.services.deadlines import deadlines_check
from review.services.rounds import decision_record, round_open
from review.services.share_links import share_link_create
from review.services.stages import business_days_add, step_open
from review.services.templates import StageSpec, review_template_ensure
from review.workspace import workspace_data
from tests.factories import api_as, member

APPROVE = "approve"


@pytest.fixture
def studio(cast):
    """The three-step template on Aurora's brief: Internal (Bob), then Legal (Lena) beside Brand (Bob and Bram, moving
    on at its deadline), then the client (Dana, the client's reviewer account)."""
    lena, bram = member("lena", INTERNAL_REVIEWER), member("bram", INTERNAL_REVIEWER)
    template = review_template_ensure(
        name="Studio three-step",
        stages=[
            StageSpec(step=1, name="Internal", deciders=[cast["bob"]], deadline_days=1, downloads=True),
            StageSpec(step=2, name="Legal", audience="legal", deciders=[lena], deadline_days=2),
            StageSpec(
                step=2,
                name="Brand",
                audience="brand",
                deciders=[cast["bob"], bram],
                deadline_days=1,
                at_deadline=ReviewStage.AtDeadline.MOVE_ON,
            ),
            StageSpec(step=3, name="Client", audience="client", deadline_days=3, downloads=True),
        ],
    )
    ReviewPolicy.objects.create(brief=cast["brief_a"], template=template)
    return {**cast, "lena": lena, "bram": bram, "template": template}


def _approve(review_round, version, user):
    decision_record(review_round=review_round, version=version, verdict=APPROVE, reviewer=user)


def _through_internal(studio) -> tuple[ReviewRound, ReviewRound, ReviewRound]:
    internal = round_open(
        brief=studio["brief_a"], versions=[studio["version_a"]], stage="internal", opened_by=studio["alice"]
    )
    _approve(internal, studio["version_a"], studio["bob"])
    internal.refresh_from_db()
    legal, brand = ReviewRound.objects.filter(previous__isnull=False, step_group__isnull=False).order_by("number")
    return internal, legal, brand


def test_a_three_step_template_runs_by_itself_through_decisions_and_a_deadline(studio):
    version, dana = studio["version_a"], studio["dana"]
    internal, legal, brand = _through_internal(studio)
    assert (internal.review_stage.name, internal.status, internal.stage) == ("Internal", "closed", "internal")
    assert [legal.review_stage.name, brand.review_stage.name] == ["Legal", "Brand"]
    assert legal.step_group == brand.step_group and {legal.status, brand.status} == {"open"}
    assert (legal.stage, brand.stage, brand.rule) == ("internal", "internal", "all")
    assert {i.reviewer.username for i in brand.invitations.all()} == {"bob", "bram"}
    assert list(legal.items.values_list("version_id", flat=True)) == [version.pk]

    _approve(legal, version, studio["lena"])
    _approve(brand, version, studio["bob"])  # Bram stays silent: the parallel step waits for Brand
    assert ReviewRound.objects.count() == 3 and ReviewRound.objects.get(pk=brand.pk).status == "open"
    # Legal and brand rounds are internal rounds: the client sees none of them, in lists or through the API.
    assert not rounds_visible_to(user=dana).exists()
    assert api_as(dana).get(f"/api/rounds/{legal.pk}/").status_code == 404

    late = ReviewRound.objects.get(pk=brand.pk).deadline + dt.timedelta(minutes=1)
    deadlines_check(now=late)
    deadlines_check(now=late)  # the clock again: nothing twice
    brand.refresh_from_db()
    assert brand.status == "closed" and brand.escalated_at == late
    [escalation] = Notification.objects.filter(kind="stage_escalated")
    assert escalation.recipient == studio["alice"] and "Brand stage" in escalation.subject
    assert "bram" in escalation.text
    [audited] = AuditEvent.objects.filter(kind="stage.escalated")
    assert audited.object_id == brand.pk
    assert audited.payload["waiting"] == ["bram"] and audited.payload["at_deadline"] == "move_on"

    client_round = ReviewRound.objects.get(stage="client")
    assert (client_round.review_stage.name, client_round.status) == ("Client", "open")
    assert [i.reviewer for i in client_round.invitations.all()] == [dana]
    assert list(rounds_visible_to(user=dana)) == [client_round]
    assert not Approval.objects.filter(final=True).exists()
    _approve(client_round, version, dana)
    approval = Approval.objects.get(final=True)
    assert approval.review_round == client_round
    assert Version.objects.get(pk=version.pk).status == Version.Status.APPROVED
    assert AuditEvent.objects.filter(kind="automation.step_opened").count() == 2
    assert Notification.objects.filter(kind="stage_escalated").count() == 1


def test_changes_requested_in_a_parallel_stage_stops_the_run_and_sends_the_to_do(studio):
    internal, legal, brand = _through_internal(studio)
    decision_record(
        review_round=legal, version=studio["version_a"], verdict="changes_requested", reviewer=studio["lena"]
    )
    for user in (studio["bob"], studio["bram"]):
        _approve(brand, studio["version_a"], user)
    assert not ReviewRound.objects.filter(stage="client").exists()
    assert Notification.objects.filter(kind="todo", review_round=legal).exists()
    # A new round starts the template again at its first step.
    again = round_open(
        brief=studio["brief_a"], versions=[studio["version_a"]], stage="internal", opened_by=studio["alice"]
    )
    assert again.review_stage.name == "Internal" and again.previous == brand


def test_business_days_skip_weekends_and_holidays():
    friday = dt.datetime(2025, 1, 3, 17, 30, tzinfo=dt.UTC)
    assert business_days_add(start=friday, days=1) == dt.datetime(2025, 1, 6, 17, 30, tzinfo=dt.UTC)
    assert business_days_add(start=friday, days=5) == dt.datetime(2025, 1, 10, 17, 30, tzinfo=dt.UTC)
    assert business_days_add(start=friday + dt.timedelta(days=1), days=1).date() == dt.date(2025, 1, 6)
    assert business_days_add(start=friday, days=1, holidays=["2025-01-06"]).date() == dt.date(2025, 1, 7)
    assert business_days_add(start=friday - dt.timedelta(days=1), days=2).date() == dt.date(2025, 1, 6)


def test_a_stage_opens_with_its_deadline_in_business_days(studio):
    internal, legal, brand = _through_internal(studio)
    opened = brand.opened_at
    assert brand.deadline.date() == business_days_add(start=opened, days=1).date()
    assert legal.deadline.date() == business_days_add(start=opened, days=2).date()
    assert brand.deadline.weekday() < 5 and legal.deadline.weekday() < 5


def test_full_resolution_is_locked_in_a_stage_without_downloads_and_open_in_one_with(cast):
    brief, version, alice = cast["brief_a"], cast["version_a"], cast["alice"]
    template = review_template_ensure(
        name="Locked until the client",
        stages=[
            StageSpec(step=1, name="Retouch check", deciders=[cast["bob"]]),
            StageSpec(step=2, name="Sign-off", audience="client", deciders=[cast["dana"]], downloads=False),
        ],
    )
    ReviewPolicy.objects.create(brief=brief, template=template, guest_emails=["gina@client.example"])
    internal = round_open(brief=brief, versions=[version], stage="internal", opened_by=alice)
    data = workspace_data(review_round=internal, for_client=False, user=alice)
    # The lock is the client's: the studio's reviewers zoom into the full file in any stage.
    assert data["round"]["downloads"] is False and data["versions"][0]["full"] != data["versions"][0]["preview"]
    _approve(internal, version, cast["bob"])
    client_round = ReviewRound.objects.get(stage="client")
    assert client_round.review_stage.name == "Sign-off"
    _, token = share_link_create(review_round=client_round, expires=client_round.deadline, created_by=alice)
    guest = Client()

    locked = guest.get(f"/review/s/{token}/full/{version.pk}/")
    assert locked.status_code == 403
    assert b"Full-resolution files are locked in this review stage" in locked.content
    assert b"The Sign-off stage shows previews only." in locked.content
    assert guest.get(f"/review/s/{token}/image/{version.pk}/").status_code == 200  # the preview still shows
    data = workspace_data(review_round=client_round, for_client=True, user=cast["dana"])
    assert data["round"]["downloads"] is False and data["versions"][0]["full"] == data["versions"][0]["preview"]
    assert b"full-resolution files stay locked" in guest.get(f"/review/s/{token}/").content
    # The client's signed-in reviewer meets the same lock at the blob door, whose address the page names; the studio
    # does not, and the preview still shows.
    client_user, studio_user = Client(), Client()
    client_user.force_login(cast["dana"])
    studio_user.force_login(alice)
    refused = client_user.get(f"/blobs/{version.blob_id}/")
    assert refused.status_code == 403 and b"locked in this review stage" in refused.content
    assert client_user.get(f"/blobs/{version.blob_id}/thumb/256/").status_code == 200
    assert studio_user.get(f"/blobs/{version.blob_id}/").status_code == 200

    template.stages.filter(name="Sign-off").update(downloads=True)
    client_round.refresh_from_db()
    allowed = guest.get(f"/review/s/{token}/full/{version.pk}/")
    assert allowed.status_code == 200 and allowed["ETag"] == f'"{version.blob_id}"'
    assert client_user.get(f"/blobs/{version.blob_id}/").status_code == 200
    data = workspace_data(review_round=client_round, for_client=True, user=cast["dana"])
    assert data["round"]["downloads"] is True and data["versions"][0]["full"] != data["versions"][0]["preview"]


def test_cycle_analytics_per_stage(studio):
    internal, legal, brand = _through_internal(studio)
    _approve(legal, studio["version_a"], studio["lena"])
    later = brand.deadline + dt.timedelta(hours=2)
    stages = {
        entry["stage"]: entry
        for entry in cycles_of(briefs=_briefs(studio), viewer=studio["alice"], now=later)["stages"]
    }
    assert list(stages) == ["Internal", "Brand", "Legal"]  # in step order
    assert [stages[name]["step"] for name in stages] == [1, 2, 2]
    assert {name: (e["rounds"], e["open"], e["overdue"]) for name, e in stages.items()} == {
        "Internal": (1, 0, 0),
        "Legal": (1, 0, 0),
        "Brand": (1, 1, 1),
    }
    assert sorted(stages["Brand"]["waiting_on"]) == ["bob", "bram"] and stages["Legal"]["waiting_on"] == []
    assert stages["Brand"]["hours"] >= 2 and stages["Internal"]["hours"] < 1
    # The client reads the client's stages only: nothing of the studio's legal and brand stages.
    assert cycles_of(briefs=_briefs(studio), viewer=studio["dana"], now=later)["stages"] == []
    csv_text = api_as(studio["alice"]).get(f"/api/briefs/{studio['brief_a'].pk}/cycles/?as=csv").content.decode()
    assert "review_stage,overdue" in csv_text and ",Brand," in csv_text


def _briefs(studio):
    from assets.models import Brief

    return Brief.objects.filter(pk=studio["brief_a"].pk)


def _admin_post(user, data: dict):
    client = Client()
    client.force_login(user)
    base = {
        "name": "Checked template",
        "description": "",
        "holidays": "[]",
        "stages-TOTAL_FORMS": str(len(data.get("stages", []))),
        "stages-INITIAL_FORMS": "0",
        "stages-MIN_NUM_FORMS": "1",
        "stages-MAX_NUM_FORMS": "1000",
    }
    for i, stage in enumerate(data.get("stages", [])):
        base.update({f"stages-{i}-{key}": value for key, value in stage.items()})
        base.setdefault(f"stages-{i}-rule", "all")
        base.setdefault(f"stages-{i}-at_deadline", "escalate")
        base.setdefault(f"stages-{i}-audience", "internal")
        base.setdefault(f"stages-{i}-deadline_days", "2")
    return client.post("/admin/review/reviewtemplate/add/", base)


def test_the_admin_refuses_a_template_without_stages_gaps_or_a_zero_day_deadline(cast):
    alice = cast["alice"]
    empty = _admin_post(alice, {"stages": []})
    assert empty.status_code == 200 and "a review template needs at least one stage" in empty.content.decode()
    gap = _admin_post(alice, {"stages": [{"step": "1", "name": "Internal"}, {"step": "3", "name": "Client"}]})
    assert "steps must run 1, 2, 3… without a gap; this template has steps 1, 3" in gap.content.decode()
    parallel_end = _admin_post(alice, {"stages": [{"step": "1", "name": "Legal"}, {"step": "1", "name": "Brand"}]})
    assert "the last step (1) must be one stage" in parallel_end.content.decode()
    zero = _admin_post(alice, {"stages": [{"step": "1", "name": "Internal", "deadline_days": "0"}]})
    assert "Ensure this value is greater than or equal to 1" in zero.content.decode()
    assert not ReviewTemplate.objects.exists()
    made = _admin_post(alice, {"stages": [{"step": "1", "name": "Internal", "deciders": [str(cast["bob"].pk)]}]})
    assert made.status_code == 302 and ReviewTemplate.objects.get().stages.get().deciders.get() == cast["bob"]


def test_a_stage_without_deciders_is_refused_when_it_would_open(cast):
    template = review_template_ensure(
        name="No one decides",
        stages=[StageSpec(step=1, name="Legal", audience="legal"), StageSpec(step=2, name="Client", audience="client")],
    )
    ReviewPolicy.objects.create(brief=cast["brief_b"], template=template)
    with pytest.raises(ApplicationError, match="the Legal stage names no studio decider"):
        round_open(brief=cast["brief_b"], versions=[cast["version_b"]], stage="internal", opened_by=cast["alice"])
    cast["charlie"].groups.clear()  # Borealis has no reviewer account left, and the policy names no guest
    with pytest.raises(ApplicationError, match="the Client stage has no client decider"):
        step_open(
            brief=cast["brief_b"], template=template, step=2, versions=[cast["version_b"]], opened_by=cast["alice"]
        )
    assert not ReviewRound.objects.exists()


def test_a_client_round_opened_by_hand_stays_outside_the_template(studio):
    final_look = round_open(
        brief=studio["brief_a"],
        versions=[studio["version_a"]],
        stage="client",
        opened_by=studio["alice"],
        reviewers=[studio["dana"]],
    )
    assert final_look.review_stage is None and final_look.stage == "client"
    _approve(final_look, studio["version_a"], studio["dana"])
    assert Approval.objects.get(review_round=final_look).final
