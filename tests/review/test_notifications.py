"""Approval cycles that run themselves: who a round waits on, decision policy, deadlines, e-mail through a real
SMTP server, signed webhooks to a real HTTP server, and the client round opening by itself."""

import datetime as dt
import hashlib
import hmac
import re
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assets.errors import ApplicationError
from assets.models import AuditEvent
from review.models import (
    ChecklistItem,
    Decision,
    Notification,
    NotificationPreference,
    ReviewPolicy,
    ReviewRound,
    RoundReviewer,
    ShareLink,
    WebhookDelivery,
)
from review.selectors import round_invitees, rounds_waiting_on, waiting_on_text
from review.services.curation import checklist_ensure, checklist_tick
from review.services.deadlines import deadlines_check
from review.services.notifications import webhook_endpoint_create, webhooks_due
from review.services.rounds import decision_record, round_open
from review.tasks import send_notification
from tests.factories import api_as
from tests.review.notify_servers import SmtpServer, WebhookReceiver

V = Decision.Verdict


@pytest.fixture
def smtp(settings):
    server = SmtpServer()
    server.controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", server.port, False
    settings.SEED_BASE_URL = "https://seed.studio.example"
    yield server
    server.controller.stop()


@pytest.fixture
def receiver(settings):
    settings.SEED_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # the receiver listens on loopback, refused by default
    hooks = WebhookReceiver()
    url = hooks.start()
    hooks.url = url
    yield hooks
    hooks.stop()


def _internal(cast, **extra):
    return round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="internal",
        opened_by=cast["alice"],
        reviewers=[cast["bob"]],
        **extra,
    )


def test_invitation_goes_through_smtp_with_text_html_inline_thumbnail_and_absolute_link(cast, smtp, run_jobs):
    with run_jobs():
        review_round = _internal(cast, commenters=[cast["alice"]])
    [message] = smtp.to("bob@example.test")
    assert message["Subject"] == "Please review: Aurora hero, round 1"
    assert message["Message-ID"].startswith("<notification-")
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    link = f"https://seed.studio.example/admin/review/reviewround/{review_round.pk}/change/"
    assert "invites you to decide on 1 version(s) of Aurora hero" in text and link in text and f'href="{link}"' in html
    [cid] = re.findall(r'src="cid:([^"]+)"', html)
    [image] = [part for part in message.walk() if part["Content-ID"] == f"<{cid}>"]
    assert image.get_content_type() == "image/webp" and image.get_content().startswith(b"RIFF")
    [followed] = smtp.to("alice@example.test")
    assert "invites you to follow" in followed.get_body(preferencelist=("plain",)).get_content()
    notification = Notification.objects.get(email="bob@example.test")
    assert notification.state == "succeeded" and notification.attempts == 1
    # The broker delivers at least once: the same task again sends nothing.
    assert send_notification(notification.pk) == "skipped" and len(smtp.messages) == 2


def test_who_the_round_waits_on_invited_viewed_decided_overdue(cast, run_jobs):
    review_round = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"], cast["version_a2"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["dana"]],
        deadline=timezone.now() + dt.timedelta(days=1),
    )
    RoundReviewer.objects.filter(review_round=review_round).update(invited_at=timezone.now() - dt.timedelta(days=2))
    [dana] = round_invitees(review_round=review_round)
    assert (dana.name, dana.kind, dana.state) == ("dana", "client", "invited")
    assert waiting_on_text([dana]) == "waiting on: dana (client, 2 days)"
    assert list(rounds_waiting_on(user=cast["dana"])) == [review_round]

    body = api_as(cast["dana"]).get(f"/api/rounds/{review_round.pk}/").json()
    assert body["waiting_on"] == "waiting on: dana (client, 2 days)" and body["invitees"][0]["state"] == "viewed"
    assert body["invitees"][0]["viewed_at"] is not None

    decision_record(review_round=review_round, version=cast["version_a"], verdict=V.APPROVE, reviewer=cast["dana"])
    [dana] = round_invitees(review_round=review_round, now=review_round.deadline + dt.timedelta(minutes=1))
    assert dana.state == "overdue"  # one of two versions decided, and the deadline passed
    admin = Client()
    admin.force_login(cast["alice"])
    page = admin.get(reverse("admin:review_reviewround_changelist") + "?attention=week").content.decode()
    assert "dana (client, 2 days)" in page
    decision_record(review_round=review_round, version=cast["version_a2"], verdict=V.APPROVE, reviewer=cast["dana"])
    assert not rounds_waiting_on(user=cast["dana"]).exists()


def test_decision_policy_reason_checklist_and_commenters(cast):
    ReviewPolicy.objects.create(
        brief=cast["brief_a"], checklist_before_approval=True, reason_for_changes=True, automate_stages=False
    )
    items = checklist_ensure(brief=cast["brief_a"])
    review_round = _internal(cast, commenters=[cast["alice"]])
    with pytest.raises(ApplicationError, match="give a reason"):
        decision_record(
            review_round=review_round, version=cast["version_a"], verdict=V.CHANGES_REQUESTED, reviewer=cast["bob"]
        )
    with pytest.raises(ApplicationError, match="still open: " + re.escape(items[0].label)):
        decision_record(review_round=review_round, version=cast["version_a"], verdict=V.APPROVE, reviewer=cast["bob"])
    with pytest.raises(ApplicationError, match="does not decide"):
        decision_record(review_round=review_round, version=cast["version_a"], verdict=V.APPROVE, reviewer=cast["alice"])
    for item in ChecklistItem.objects.filter(brief=cast["brief_a"]):
        checklist_tick(version=cast["version_a"], item=item, checked=True, reviewer=cast["bob"])
    response = api_as(cast["bob"]).post(
        f"/api/rounds/{review_round.pk}/decisions/",
        {"version": cast["version_a"].pk, "verdict": "reject"},
        format="json",
    )
    assert response.status_code == 400 and "give a reason" in response.json()["message"]
    decision_record(
        review_round=review_round,
        version=cast["version_a"],
        verdict=V.APPROVE_WITH_CHANGES,
        reviewer=cast["bob"],
        comment="lift the shadows a touch",
    )
    review_round.refresh_from_db()
    assert review_round.status == "closed" and review_round.approvals.get().version == cast["version_a"]


@pytest.mark.parametrize(
    "rule, verdicts, closes, result",
    [
        ("all", [V.APPROVE], False, None),
        ("all", [V.APPROVE, V.APPROVE_WITH_CHANGES, V.APPROVE], True, V.APPROVE_WITH_CHANGES),
        ("any", [V.CHANGES_REQUESTED], False, None),
        ("any", [V.CHANGES_REQUESTED, V.APPROVE], True, V.APPROVE),
        ("majority", [V.APPROVE, V.APPROVE], True, V.APPROVE),
        ("majority", [V.REJECT, V.CHANGES_REQUESTED], True, V.REJECT),
        ("majority", [V.APPROVE, V.REJECT], False, None),
    ],
)
def test_roll_up_rules_close_the_round_when_settled(cast, rule, verdicts, closes, result):
    from review.roles import INTERNAL_REVIEWER
    from tests.factories import member

    ReviewPolicy.objects.create(brief=cast["brief_a"], automate_stages=False)
    deciders = [cast["bob"], member("erin", INTERNAL_REVIEWER), member("finn", INTERNAL_REVIEWER)]
    review_round = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="internal",
        opened_by=cast["alice"],
        reviewers=deciders,
        rule=rule,
    )
    for reviewer, verdict in zip(deciders, verdicts, strict=False):
        decision_record(
            review_round=review_round, version=cast["version_a"], verdict=verdict, reviewer=reviewer, comment="x"
        )
    review_round.refresh_from_db()
    assert (review_round.status == "closed") is closes
    if closes:
        closed = AuditEvent.objects.get(kind="round.closed", object_id=review_round.pk)
        assert closed.payload["results"] == {str(cast["version_a"].pk): result}


def test_reminder_and_overdue_notice_each_once_per_invitee(cast, settings, run_jobs):
    settings.SEED_REMINDER_LEAD_HOURS = 24
    deadline = timezone.now() + dt.timedelta(hours=3)
    with run_jobs():
        review_round = round_open(
            brief=cast["brief_a"],
            versions=[cast["version_a"], cast["version_a2"]],
            stage="client",
            opened_by=cast["alice"],
            reviewers=[cast["dana"]],
            guests=["gina@client.example"],
            deadline=deadline,
        )
    with run_jobs():
        assert deadlines_check() == (2, 0)  # dana and the guest
        assert deadlines_check() == (0, 0)
    reminder = Notification.objects.get(kind="reminder", email="gina@client.example")
    assert "invitation e-mail" in reminder.text and reminder.sealed_link == "" and reminder.state == "succeeded"
    decision_record(review_round=review_round, version=cast["version_a"], verdict=V.APPROVE, reviewer=cast["dana"])
    decision_record(review_round=review_round, version=cast["version_a2"], verdict=V.APPROVE, reviewer=cast["dana"])
    with run_jobs():
        assert deadlines_check(now=deadline + dt.timedelta(minutes=1)) == (0, 1)  # dana decided; the guest did not
        assert deadlines_check(now=deadline + dt.timedelta(minutes=2)) == (0, 0)
    assert Notification.objects.filter(kind="overdue", email="gina@client.example").count() == 1
    assert Notification.objects.filter(kind="overdue", email="alice@example.test").count() == 1


def test_preferences_digest_and_off(cast, run_jobs, settings):
    from review.services.notifications import digests_send

    settings.EMAIL_BACKEND = "review.mail.OutboxBackend"  # pytest-django swaps in locmem; this is what the demo uses
    NotificationPreference.objects.create(user=cast["bob"], mode="digest")
    NotificationPreference.objects.create(user=cast["alice"], mode="off")
    with run_jobs():
        _internal(cast, commenters=[cast["alice"]])
    held = Notification.objects.get(email="bob@example.test")
    assert held.state == "held" and not Notification.objects.filter(email="alice@example.test").exists()
    with run_jobs():
        assert digests_send() == 1
        assert digests_send() == 0
    held.refresh_from_db()
    assert held.state == "succeeded" and held.digest.state == "succeeded" and "Please review" in held.digest.text
    [eml] = list(settings.SEED_OUTBOX_DIR.glob(f"notification-{held.digest_id}.eml"))
    assert b"1 update on your reviews" in eml.read_bytes()


def test_internal_approval_opens_the_client_round_and_the_guest_approves_from_the_emailed_link(cast, smtp, run_jobs):
    ReviewPolicy.objects.create(brief=cast["brief_a"], guest_emails=["gina@client.example"])
    with run_jobs():
        internal = _internal(cast)
        decision_record(review_round=internal, version=cast["version_a"], verdict=V.APPROVE, reviewer=cast["bob"])
    client_round = ReviewRound.objects.get(previous=internal)
    assert client_round.stage == "client" and list(client_round.reviewers.all()) == [cast["dana"]]
    opened = AuditEvent.objects.get(kind="automation.client_round_opened")
    assert opened.payload["rule"] == "internal approved → client round" and opened.object_id == client_round.pk
    [invitation] = smtp.to("gina@client.example")
    text = invitation.get_body(preferencelist=("plain",)).get_content()
    token = re.search(r"https://seed\.studio\.example/review/s/([\w-]+)/", text).group(1)
    # The token lives in the e-mail only: the database keeps its hash, and the sealed copy went with the sending.
    assert (
        ShareLink.objects.get(invitation__guest_email="gina@client.example").token_hash
        == hashlib.sha256(token.encode()).hexdigest()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM review_notification WHERE text LIKE %s OR sealed_link <> ''", [f"%{token}%"]
        )
        assert cursor.fetchone()[0] == 0

    guest = Client()
    assert guest.get(f"/review/s/{token}/").status_code == 200
    assert RoundReviewer.objects.get(guest_email="gina@client.example").first_viewed_at is not None
    with run_jobs():
        guest.post(
            f"/review/s/{token}/decisions/",
            {"version": cast["version_a"].pk, "guest_name": "Gina", "verdict": "approve"},
            content_type="application/json",
        )
        decision_record(review_round=client_round, version=cast["version_a"], verdict=V.APPROVE, reviewer=cast["dana"])
    client_round.refresh_from_db()
    assert client_round.status == "closed" and client_round.approvals.get().final
    [final] = [m for m in smtp.to("alice@example.test") if m["Subject"].startswith("Final approval")]
    assert f"v{cast['version_a'].pk}" in final.get_body(preferencelist=("plain",)).get_content()


def test_changes_requested_send_the_producer_a_todo_list(cast, smtp, run_jobs):
    with run_jobs():
        review_round = _internal(cast)
        decision_record(
            review_round=review_round,
            version=cast["version_a"],
            verdict=V.CHANGES_REQUESTED,
            reviewer=cast["bob"],
            comment="the can label is blurred",
        )
    subjects = [m["Subject"] for m in smtp.to("alice@example.test")]
    assert any(s.startswith("bob changes requested: v") for s in subjects)
    [todo] = [m for m in smtp.to("alice@example.test") if m["Subject"].startswith("To do after round 1")]
    assert (
        f"☐ v{cast['version_a'].pk} — changes requested: bob: the can label is blurred"
        in todo.get_body(preferencelist=("plain",)).get_content()
    )
    assert AuditEvent.objects.filter(
        kind="automation.todo", payload__rule="changes requested → producer to-do"
    ).exists()


def test_webhooks_are_signed_retried_with_backoff_and_switched_off(cast, receiver, settings, run_jobs):
    settings.SEED_WEBHOOK_DISABLE_AFTER = 3
    endpoint, secret = webhook_endpoint_create(url=receiver.url, client=cast["brief_a"].campaign.client)
    webhook_endpoint_create(url=receiver.url, client=cast["brief_b"].campaign.client)
    receiver.statuses = [500]
    with run_jobs():
        review_round = _internal(cast)
        decision_record(
            review_round=review_round,
            version=cast["version_a"],
            verdict=V.REJECT,
            reviewer=cast["bob"],
            comment="off brief",
        )
    first = WebhookDelivery.objects.get(kind="changes_requested")
    assert first.state == "queued" and first.attempts == 1 and first.response_status == 500 and first.next_attempt_at
    request = receiver.requests[0]
    body, headers = request["body"], request["headers"]
    expected = hmac.new(secret.encode(), headers["X-Seed-Timestamp"].encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["X-Seed-Signature"] == f"sha256={expected}" and request["json"]["event"] == "changes_requested"
    assert "text" in request["json"] and request["json"]["data"]["round"] == review_round.pk
    with run_jobs():
        assert webhooks_due() == 0  # its backoff has not passed
        WebhookDelivery.objects.filter(pk=first.pk).update(next_attempt_at=timezone.now())
        assert webhooks_due() == 1
    first.refresh_from_db()
    assert first.state == "succeeded" and first.attempts == 2
    assert {r["json"]["event"] for r in receiver.requests} >= {"changes_requested", "round_closed"}
    assert all(r["headers"]["X-Seed-Signature"] != "" for r in receiver.requests)

    receiver.statuses = [503] * 10
    with run_jobs():
        review_round = round_open(
            brief=cast["brief_a"],
            versions=[cast["version_a2"]],
            stage="internal",
            opened_by=cast["alice"],
            reviewers=[cast["bob"]],
        )
        decision_record(
            review_round=review_round, version=cast["version_a2"], verdict=V.REJECT, reviewer=cast["bob"], comment="no"
        )
    endpoint.refresh_from_db()
    assert not endpoint.active and endpoint.consecutive_failures == 3 and endpoint.disabled_at
    given_up = WebhookDelivery.objects.filter(endpoint=endpoint, state="failed")
    assert given_up.exists() and all(
        d.error.startswith(("gave up after", "not sent: the endpoint was switched off")) for d in given_up
    )
    assert not WebhookDelivery.objects.filter(endpoint=endpoint, state="succeeded", response_status__gte=300).exists()
    assert Notification.objects.filter(kind="webhook_disabled", email="alice@example.test").count() == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_reviewers_deciding_at_once_close_the_round_once_and_notify_once(
    cast, django_capture_on_commit_callbacks
):
    from review.roles import INTERNAL_REVIEWER
    from tests.factories import member

    reviewers = [member(f"reviewer{n:02d}", INTERNAL_REVIEWER) for n in range(20)]
    ReviewPolicy.objects.create(brief=cast["brief_a"], automate_stages=False)
    review_round = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="internal",
        opened_by=cast["alice"],
        reviewers=reviewers,
    )
    barrier, errors = threading.Barrier(20), []

    def decide(reviewer):
        try:
            barrier.wait()
            decision_record(review_round=review_round, version=cast["version_a"], verdict=V.APPROVE, reviewer=reviewer)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(reviewer,)) for reviewer in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert AuditEvent.objects.filter(kind="round.closed", object_id=review_round.pk).count() == 1
    assert review_round.approvals.count() == 1
    closed = Notification.objects.filter(kind="round_closed", review_round=review_round)
    assert closed.count() == 21 and closed.values("email").distinct().count() == 21  # alice and the 20, once each


def test_cycle_analytics_per_brief_and_client_in_one_query_per_chart(cast, django_assert_num_queries):
    from assets.access import is_client_user
    from review.cycles import cycles_of

    ReviewPolicy.objects.create(brief=cast["brief_a"], automate_stages=False)
    first = _internal(cast)
    decision_record(
        review_round=first, version=cast["version_a"], verdict=V.CHANGES_REQUESTED, reviewer=cast["bob"], comment="x"
    )
    second = _internal(cast)
    decision_record(review_round=second, version=cast["version_a"], verdict=V.APPROVE, reviewer=cast["bob"])
    client = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["dana"]],
        guests=["gina@client.example"],
    )
    RoundReviewer.objects.filter(review_round=client).update(invited_at=timezone.now() - dt.timedelta(hours=30))
    decision_record(review_round=client, version=cast["version_a"], verdict=V.APPROVE, reviewer=cast["dana"])
    alice = cast["alice"]
    is_client_user(user=alice)  # who is looking is looked up once per request, before any chart
    with django_assert_num_queries(2):  # the rounds with their invitees and decisions; the GPU-seconds
        cycles = cycles_of(briefs=type(cast["brief_a"]).objects.filter(pk=cast["brief_a"].pk), viewer=alice)
    [brief] = cycles["briefs"]
    assert [r["stage"] for r in brief["rounds"]] == ["internal", "internal", "client"] and brief[
        "rounds_to_final_approval"
    ] is None
    assert cycles["bottleneck"]["reviewer"] == "gina@client.example" and cycles["bottleneck"]["hours"] >= 30
    assert brief["waiting_hours"]["dana"] >= 30 and brief["rounds"][2]["waiting_on"] == ["gina@client.example"]

    alice = api_as(cast["alice"])
    body = alice.get(f"/api/briefs/{cast['brief_a'].pk}/cycles/").json()
    assert body["bottleneck"]["reviewer"] == "gina@client.example"
    csv_text = alice.get(f"/api/briefs/{cast['brief_a'].pk}/cycles/?as=csv").content.decode()
    assert (
        csv_text.splitlines()[0].startswith("client,brief,round") and "gina@client.example" in csv_text.splitlines()[3]
    )
    assert alice.get(f"/api/clients/{cast['brief_a'].campaign.client_id}/cycles/").json()["briefs"][0]["cycles"] == 3
    assert alice.get(f"/api/briefs/{cast['brief_a'].pk}/cycles/?as=xml").status_code == 400
    assert api_as(cast["charlie"]).get(f"/api/clients/{cast['brief_a'].campaign.client_id}/cycles/").status_code == 404


def test_everyone_sets_their_own_notification_preference(cast):
    dana = api_as(cast["dana"])
    assert dana.get("/api/me/notifications/").json() == {"mode": "immediate"}
    assert dana.put("/api/me/notifications/", {"mode": "weekly"}, format="json").status_code == 400
    assert dana.put("/api/me/notifications/", {"mode": "digest"}, format="json").json() == {"mode": "digest"}
    assert NotificationPreference.objects.get(user=cast["dana"]).mode == "digest"


def test_whom_a_page_of_rounds_waits_on_takes_the_same_queries_for_one_round_or_twelve(
    cast, django_assert_max_num_queries
):
    from review.services.rounds import round_close
    from tests.factories import derive

    ReviewPolicy.objects.create(brief=cast["brief_a"], automate_stages=False)
    for index in range(12):
        version = derive(brief=cast["brief_a"], blob=cast["version_a"].blob)
        review_round = round_open(
            brief=cast["brief_a"],
            versions=[version],
            stage="internal",
            opened_by=cast["alice"],
            reviewers=[cast["bob"], cast["alice"]],
        )
        decision_record(review_round=review_round, version=version, verdict=V.APPROVE, reviewer=cast["bob"])
        if index < 11:
            round_close(review_round=review_round, closed_by=cast["alice"])
    with django_assert_max_num_queries(14):
        body = api_as(cast["alice"]).get("/api/rounds/").json()
    assert len(body["results"]) == 12
    last = next(r for r in body["results"] if r["id"] == review_round.pk)
    expected = round_invitees(review_round=review_round)
    assert [(i["name"], i["state"]) for i in last["invitees"]] == [(i.name, i.state) for i in expected]
    assert last["waiting_on"] == waiting_on_text(expected) and last["waiting_on"].startswith(
        "waiting on: alice (studio"
    )
    admin = Client()
    admin.force_login(cast["alice"])
    with django_assert_max_num_queries(30):
        page = admin.get("/admin/review/reviewround/")
    assert page.status_code == 200 and "alice (studio" in page.content.decode()
