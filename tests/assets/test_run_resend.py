"""A queue on django-q2's Redis broker, and the lifecycle's sweep that sends again what a broker lost.

The tasks go to a real redis-server and are read back from it; tasks are queued, not run (django-q2's sync mode,
which the test settings turn on, is switched off here).
"""

from datetime import timedelta

import pytest
import redis
from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.brokers.redis_broker import Redis
from django_q.conf import Conf
from django_q.signing import SignedPackage

from assets.cluster_status import clusters_status
from assets.metrics import queue_depths
from assets.models import Brief, Derivation, Phase
from assets.services.queues import Queue, queue_broker
from assets.services.run_resend import runs_resend
from assets.services.runs import run_claim, run_enqueue, run_requeue
from config.checks import settings_problems_find
from config.localpg import free_port
from tests.factories import make_brief

pytestmark = pytest.mark.django_db(transaction=True)

TASK = "generation.tasks.run_finishing"
LONG_AGO = timedelta(hours=2)


@pytest.fixture
def on_redis(settings, redis_server, monkeypatch):
    settings.SEED_Q_BROKER = "redis"
    settings.SEED_REDIS_URL = redis_server.url
    monkeypatch.setattr(Conf, "SYNC", False)
    client = redis.from_url(redis_server.url)
    client.flushdb()
    yield client
    client.flushdb()


def _on_redis(client) -> list[tuple[str, tuple]]:
    tasks = [SignedPackage.loads(raw) for raw in client.lrange(f"django_q:{Conf.CLUSTER_NAME}:q", 0, -1)]
    return [(task["func"], task["args"]) for task in tasks]


def _derivation(**fields) -> Derivation:
    brief = Brief.objects.first() or make_brief()
    row = Derivation.objects.create(brief=brief, op="grade", phase=Phase.FINISHING)
    run_enqueue(task=TASK, model=Derivation, pk=row.pk, kind="finishing", queue=Queue.CPU)
    if fields:
        Derivation.objects.filter(pk=row.pk).update(**fields)
    row.refresh_from_db()
    return row


def test_each_queue_rides_the_broker_its_setting_names(settings, redis_server):
    settings.SEED_REDIS_URL = redis_server.url
    settings.SEED_SPLIT_CLUSTERS = True
    settings.SEED_Q_CPU_BROKER = "redis"
    assert isinstance(queue_broker(list_key="cpu"), Redis)
    assert isinstance(queue_broker(list_key="gpu"), ORM)
    assert isinstance(queue_broker(list_key=Conf.CLUSTER_NAME), ORM)
    cpu = queue_broker(list_key="cpu")
    cpu.purge_queue()
    cpu.enqueue("a signed task")
    assert cpu.queue_size() == 1 and cpu.dequeue()[0][1] == b"a signed task" and cpu.queue_size() == 0


def test_a_queue_on_redis_without_a_server_is_refused_by_the_check():
    problems = settings_problems_find(environ={"SEED_Q_CPU_BROKER": "redis"}, production=False)
    assert [problem.id for problem in problems] == ["seed.E016"]
    assert "SEED_Q_CPU_BROKER" in problems[0].msg
    refused = settings_problems_find(environ={"SEED_Q_BROKER": "rabbitmq"}, production=False)
    assert [problem.id for problem in refused] == ["seed.E010"]
    assert not settings_problems_find(
        environ={"SEED_Q_BROKER": "redis", "SEED_REDIS_URL": "redis://10.0.0.5:6379/0"}, production=False
    )


def test_enqueue_remembers_the_task_and_sends_it_at_commit(on_redis):
    row = _derivation()
    assert (row.task_func, row.task_queue, row.sent_at is not None) == (TASK, "cpu", True)
    assert _on_redis(on_redis) == [(TASK, (row.pk,))]


def test_the_sweep_sends_again_only_what_the_broker_lost(on_redis):
    long_ago = timezone.now() - LONG_AGO
    lost = _derivation(sent_at=long_ago)
    just_sent = _derivation()
    dead = _derivation(state="running", started_at=long_ago, sent_at=long_ago, attempts=1)
    alive = _derivation(state="running", started_at=timezone.now(), sent_at=long_ago, attempts=1)
    done = _derivation(state="succeeded", sent_at=long_ago)
    waiting = _derivation(sent_at=None)  # nothing on the broker for it until its caller sends it when due
    before_this_release = _derivation(sent_at=long_ago, task_func="")
    on_redis.flushdb()

    resent = runs_resend()

    assert sorted((row.pk, row.state) for row in resent) == sorted([(lost.pk, "queued"), (dead.pk, "running")])
    assert sorted(_on_redis(on_redis)) == sorted([(TASK, (lost.pk,)), (TASK, (dead.pk,))])
    for row in (just_sent, alive, done, waiting, before_this_release):
        assert not [pk for _, (pk,) in _on_redis(on_redis) if pk == row.pk]
    lost.refresh_from_db()
    assert timezone.now() - lost.sent_at < timedelta(minutes=1)
    # Sent again once per period: a second sweep right after finds nothing.
    assert runs_resend() == []
    assert len(_on_redis(on_redis)) == 2


def test_a_queued_run_waits_while_its_queue_is_busy_but_a_dead_claim_does_not(on_redis):
    long_ago = timezone.now() - LONG_AGO
    queued = _derivation(sent_at=long_ago)
    dead = _derivation(state="running", started_at=long_ago, sent_at=long_ago, attempts=1)
    on_redis.flushdb()
    on_redis.rpush(f"django_q:{Conf.CLUSTER_NAME}:q", b"another task still waiting")

    assert [(row.pk, row.state) for row in runs_resend()] == [(dead.pk, "running")]
    on_redis.flushdb()
    assert [(row.pk, row.state) for row in runs_resend()] == [(queued.pk, "queued")]


def test_a_run_put_back_for_later_is_not_sent_by_the_sweep(on_redis):
    row = _derivation()
    claimed = run_claim(model=Derivation, pk=row.pk)
    assert run_requeue(row=claimed, message="the receiver answered 503; again in a minute")
    row.refresh_from_db()
    assert (row.state, row.sent_at) == ("queued", None)
    Derivation.objects.filter(pk=row.pk).update(started_at=timezone.now() - LONG_AGO)
    on_redis.flushdb()
    assert runs_resend() == [] and _on_redis(on_redis) == []


def test_a_resent_task_runs_once_whoever_takes_it(on_redis):
    """The sweep's copy and a late original both arrive: the claim lets one run and the other finds nothing."""
    row = _derivation(sent_at=timezone.now() - LONG_AGO)
    on_redis.flushdb()
    runs_resend()
    assert _on_redis(on_redis) == [(TASK, (row.pk,))]
    first = run_claim(model=Derivation, pk=row.pk)
    assert first is not None and first.attempts == 1
    Derivation.objects.filter(pk=row.pk).update(state="succeeded")
    assert run_claim(model=Derivation, pk=row.pk) is None


def test_a_broker_that_does_not_answer_loses_only_the_send(on_redis, settings, redis_server):
    """The row is committed and the person's request stands; the sweep sends the task once the broker answers."""
    settings.SEED_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    row = _derivation()
    assert (row.state, row.task_func) == ("queued", TASK) and row.sent_at is not None
    # While the broker does not answer, nothing is sent to it and no run's time moves.
    dead = _derivation(state="running", started_at=timezone.now() - LONG_AGO, sent_at=timezone.now() - LONG_AGO)
    assert runs_resend() == []
    assert Derivation.objects.get(pk=dead.pk).sent_at == dead.sent_at
    settings.SEED_REDIS_URL = redis_server.url
    Derivation.objects.filter(pk=row.pk).update(sent_at=timezone.now() - LONG_AGO)
    assert sorted(resent.pk for resent in runs_resend()) == [row.pk, dead.pk]
    assert sorted(_on_redis(on_redis)) == [(TASK, (row.pk,)), (TASK, (dead.pk,))]


def test_the_operator_sees_a_redis_queue_as_an_orm_one(on_redis):
    """`seed_status` and /metrics read a queue's depth and its oldest task from the broker the queue rides."""
    first, _ = _derivation(), _derivation()
    (depth,) = queue_depths()
    assert depth[:3] == (Conf.PREFIX, 2, 0) and depth[3] >= 0
    (cluster,) = clusters_status()["clusters"]
    assert (cluster["waiting"], cluster["oldest_waiting"]["task"]) == (2, f"finishing-{first.pk}")
    on_redis.flushdb()
    assert queue_depths() == []
