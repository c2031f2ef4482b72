"""Issue 34 (a broker past the poll) attacked through routes the change does not name: a stale copy of a task, a Redis
URL that is not one, the runs waiting at the upgrade."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django_q.conf import Conf

from assets.services.run_resend import runs_resend
from config.checks import settings_problems_find
from review.models import Notification, WebhookDelivery
from review.services.notifications import Message, webhook_endpoint_create, webhooks_due, webhooks_notify
from tests.review.notify_servers import WebhookReceiver


@pytest.fixture
def failing_receiver(settings):
    settings.SEED_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    receiver = WebhookReceiver(statuses=[500, 200])
    receiver.url = receiver.start()
    yield receiver
    receiver.stop()


@pytest.mark.django_db
def test_a_stale_copy_of_a_webhook_waiting_out_its_backoff_does_not_post_it_again(failing_receiver, run_jobs):
    """The sweep sends again a webhook its cluster holds ahead of its workers; the first copy fails and puts the
    delivery back for five minutes. The second copy must not post it at once, nor spend one of its tries."""
    from review.tasks import send_webhook

    webhook_endpoint_create(url=failing_receiver.url)
    with run_jobs():
        webhooks_notify(
            message=Message(kind="round_closed", subject="Closed", lines=["done"]), key="ev", client_id=None
        )
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, len(failing_receiver.requests)) == ("queued", 1, 1)
    assert delivery.next_attempt_at > timezone.now()

    assert send_webhook(delivery.pk) == "skipped"
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, len(failing_receiver.requests)) == ("queued", 1, 1)

    # Its backoff over, the copy webhooks_due sends is the one that posts.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    with run_jobs():
        assert webhooks_due() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, len(failing_receiver.requests)) == ("succeeded", 2, 2)


@pytest.mark.parametrize("url", ["redis-host:6379", "http://:hunter2@redis:6379/0", "localhost"])
def test_a_redis_url_the_broker_cannot_read_is_refused_by_the_check_without_echoing_it(url):
    """Passed by the check, every send raised after its commit: the person's request a 500, the sweep dead."""
    problems = settings_problems_find(environ={"SEED_Q_CPU_BROKER": "redis", "SEED_REDIS_URL": url}, production=False)
    assert [problem.id for problem in problems] == ["seed.E016"]
    assert "hunter2" not in problems[0].msg and url not in problems[0].msg
    for good in ("redis://:hunter2@redis:6379/0", "rediss://redis:6380/1", "unix:///run/redis.sock"):
        assert not settings_problems_find(environ={"SEED_Q_BROKER": "redis", "SEED_REDIS_URL": good}, production=False)


@pytest.mark.django_db(transaction=True)
def test_a_run_waiting_at_the_upgrade_is_sent_again_when_its_broker_lost_it(settings, monkeypatch):
    """The compose stack moves the cpu queue to Redis with this release: the tasks waiting on the ORM broker at the
    upgrade are read by no cluster any more. Their rows must remember their sends like the rows made after it."""
    monkeypatch.setattr(Conf, "SYNC", False)
    before = [("review", "0011_review_stages")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps.get_model("review", "Notification")
        common = {"kind": "round_closed", "email": "dana@example.com", "subject": "Closed", "text": "done"}
        waiting = old.objects.create(key="waiting", state="queued", **common).pk
        held = old.objects.create(key="held", state="held", **common).pk
        sent = old.objects.create(key="sent", state="succeeded", **common).pk
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    rows = {row.pk: row for row in Notification.objects.all()}
    assert (rows[waiting].task_func, rows[waiting].task_queue) == ("review.tasks.send_notification", "cpu")
    assert rows[held].task_func == rows[sent].task_func == "" and rows[held].sent_at is None

    Notification.objects.filter(pk=waiting).update(sent_at=timezone.now() - timedelta(hours=1))
    assert [(row.kind, row.pk) for row in runs_resend()] == [("notification", waiting)]
