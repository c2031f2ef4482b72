import io
import threading

import pytest
from django.core.files.storage import storages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from assets.errors import ApplicationError
from assets.models import AuditEvent, Version
from assets.services.audit import audit_chain_verify
from review.models import Approval, Decision, ReviewRound
from review.roles import INTERNAL_REVIEWER
from review.services.curation import versions_triage
from review.services.rounds import decision_record, round_close, round_open
from tests.factories import member, with_triggers_off


def _approved(cast):
    review_round = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["dana"]],
    )
    decision_record(review_round=review_round, version=cast["version_a"], verdict="approve", reviewer=cast["dana"])
    return review_round


@pytest.mark.django_db
def test_an_approved_version_is_immutable(cast):
    _approved(cast)
    version = Version.objects.get(pk=cast["version_a"].pk)
    with pytest.raises(ApplicationError, match="approved and can no longer change"):
        versions_triage(versions=[version], triage="reject", actor=cast["alice"])
    next_round = round_open(
        brief=cast["brief_a"], versions=[version], stage="client", opened_by=cast["alice"], reviewers=[cast["dana"]]
    )
    with pytest.raises(ApplicationError, match="already approved"):
        decision_record(review_round=next_round, version=version, verdict="reject", reviewer=cast["dana"])
    assert Version.objects.get(pk=version.pk).triage == "untriaged"


@pytest.mark.django_db
def test_changed_bytes_are_flagged_and_cannot_be_approved(cast, capsys):
    version = cast["version_a"]
    path = storages["blobs"].path(version.blob.storage_name)
    with open(path, "ab") as handle:
        handle.write(b"tampered")
    review_round = round_open(
        brief=cast["brief_a"], versions=[version], stage="client", opened_by=cast["alice"], reviewers=[cast["dana"]]
    )
    with pytest.raises(ApplicationError, match="no longer match its sha256"):
        decision_record(review_round=review_round, version=version, verdict="approve", reviewer=cast["dana"])
    assert not Approval.objects.exists() and not Decision.objects.exists()
    with pytest.raises(CommandError, match="1 mismatched"):
        call_command("verify_storage")


@pytest.mark.django_db
def test_audit_chain_detects_an_altered_or_removed_row(cast, capsys):
    _approved(cast)
    call_command("audit_verify")
    assert "intact" in capsys.readouterr().out
    victim = AuditEvent.objects.filter(kind="decision").get()
    with with_triggers_off():
        AuditEvent.objects.filter(pk=victim.pk).update(payload={**victim.payload, "verdict": "reject"})
    with pytest.raises(CommandError, match=f"broken at event {victim.pk}"):
        call_command("audit_verify")
    with with_triggers_off():
        AuditEvent.objects.filter(pk=victim.pk).update(payload=victim.payload)
    assert audit_chain_verify().ok
    removed = AuditEvent.objects.order_by("id")[2]
    with with_triggers_off():
        AuditEvent.objects.filter(pk=removed.pk).delete()
    report = audit_chain_verify()
    assert not report.ok and report.first_broken > removed.pk and "does not point" in report.reason


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_sign_offs_end_in_one_consistent_state(cast):
    reviewers = [member(f"reviewer{i}", INTERNAL_REVIEWER) for i in range(20)]
    review_round = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=reviewers,
    )
    barrier = threading.Barrier(len(reviewers))
    errors = []

    def sign(user, verdict):
        try:
            barrier.wait(timeout=30)
            decision_record(review_round=review_round, version=cast["version_a"], verdict=verdict, reviewer=user)
        except Exception as exc:  # collected and asserted on below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign, args=(user, "approve")) for user in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    review_round.refresh_from_db()
    assert review_round.status == ReviewRound.Status.CLOSED
    assert Decision.objects.filter(review_round=review_round).count() == 20
    assert Approval.objects.filter(version=cast["version_a"], final=True).count() == 1
    assert Version.objects.get(pk=cast["version_a"].pk).status == Version.Status.APPROVED
    assert AuditEvent.objects.filter(kind="round.closed").count() == 1
    assert audit_chain_verify().ok

    closers = [threading.Thread(target=lambda: _try_close(review_round, cast["alice"], errors)) for _ in range(5)]
    for thread in closers:
        thread.start()
    for thread in closers:
        thread.join(timeout=30)
    assert all("already closed" in str(exc) for exc in errors) and len(errors) == 5


def _try_close(review_round, user, errors):
    try:
        round_close(review_round=review_round, closed_by=user)
    except ApplicationError as exc:
        errors.append(exc)
    finally:
        connection.close()


@pytest.mark.django_db
def test_a_signed_checkpoint_catches_events_deleted_at_the_tail(cast, capsys, settings):
    import json

    _approved(cast)
    call_command("audit_checkpoint")
    written = json.loads(capsys.readouterr().out)
    assert written["count"] == AuditEvent.objects.count() and written["head_hash"] == AuditEvent.objects.last().hash
    call_command("audit_verify")
    assert (
        f"held against checkpoint {settings.SEED_AUDIT_CHECKPOINT_DIR.joinpath(written['path']).name}"
        in capsys.readouterr().out
    )
    newest = AuditEvent.objects.order_by("-id").first()
    with with_triggers_off():
        AuditEvent.objects.filter(pk=newest.pk).delete()
    assert audit_chain_verify().checked == written["count"] - 1, "the shortened chain still links up"
    with pytest.raises(
        CommandError, match=f"events were deleted: .* signed {written['count']} event.*holds {written['count'] - 1}"
    ):
        call_command("audit_verify")


@pytest.mark.django_db
def test_a_checkpoint_not_signed_by_the_studio_key_is_refused(cast, settings, tmp_path):
    import json

    from delivery.keys import dev_ca_create

    _approved(cast)
    call_command("audit_checkpoint", stdout=io.StringIO())
    path = next(settings.SEED_AUDIT_CHECKPOINT_DIR.glob("audit-*.json"))
    document = json.loads(path.read_text())
    document["checkpoint"]["count"] = 1
    forged = path.with_name(path.name.replace("audit-", "audit-z"))
    forged.write_text(json.dumps(document))
    with pytest.raises(CommandError, match="not signed by the configured studio key"):
        call_command("audit_verify")
    forged.unlink()
    other = dev_ca_create(folder=tmp_path / "other-studio", organisation="Another studio")
    settings.SEED_C2PA_CERT, settings.SEED_C2PA_KEY = other["chain"], other["key"]
    with pytest.raises(CommandError, match="not signed by the configured studio key"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_migrate_schedules_one_daily_checkpoint(db):
    from django_q.models import Schedule

    from assets.services.audit_checkpoints import SCHEDULE_NAME, checkpoint_schedule_ensure

    checkpoint_schedule_ensure()
    checkpoint_schedule_ensure()
    schedule = Schedule.objects.get(name=SCHEDULE_NAME)
    assert (schedule.func, schedule.schedule_type, schedule.repeats) == (
        "assets.tasks.audit_checkpoint",
        Schedule.DAILY,
        -1,
    )


@pytest.mark.django_db
def test_a_checkpoint_schedule_made_when_the_trail_was_reviews_follows_its_task_to_the_core(db):
    from django_q.models import Schedule

    from assets.services.audit_checkpoints import SCHEDULE_NAME, checkpoint_schedule_ensure

    checkpoint_schedule_ensure()
    made = Schedule.objects.filter(name=SCHEDULE_NAME)
    made.update(func="review.tasks.audit_checkpoint")  # as a studio migrated before the move has it
    checkpoint_schedule_ensure()
    assert list(made.values_list("func", flat=True)) == ["assets.tasks.audit_checkpoint"]
