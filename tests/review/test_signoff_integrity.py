import threading

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import storages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from assets.errors import ApplicationError
from assets.models import Version
from review.models import Approval, AuditEvent, Decision, ReviewRound
from review.services.audit import audit_chain_verify
from review.services.curation import versions_triage
from review.services.rounds import decision_record, round_close, round_open


def _approved(cast):
    review_round = round_open(brief=cast["brief_a"], versions=[cast["version_a"]], stage="client", opened_by=cast["alice"],
                              reviewers=[cast["dana"]])
    decision_record(review_round=review_round, version=cast["version_a"], verdict="approve", reviewer=cast["dana"])
    return review_round


@pytest.mark.django_db
def test_an_approved_version_is_immutable(cast):
    _approved(cast)
    version = Version.objects.get(pk=cast["version_a"].pk)
    with pytest.raises(ApplicationError, match="approved and can no longer change"):
        versions_triage(versions=[version], triage="reject", actor=cast["alice"])
    next_round = round_open(brief=cast["brief_a"], versions=[version], stage="client", opened_by=cast["alice"],
                            reviewers=[cast["dana"]])
    with pytest.raises(ApplicationError, match="already approved"):
        decision_record(review_round=next_round, version=version, verdict="reject", reviewer=cast["dana"])
    assert Version.objects.get(pk=version.pk).triage == "untriaged"


@pytest.mark.django_db
def test_changed_bytes_are_flagged_and_cannot_be_approved(cast, capsys):
    version = cast["version_a"]
    path = storages["blobs"].path(version.blob.storage_name)
    with open(path, "ab") as handle:
        handle.write(b"tampered")
    review_round = round_open(brief=cast["brief_a"], versions=[version], stage="client", opened_by=cast["alice"],
                              reviewers=[cast["dana"]])
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
    AuditEvent.objects.filter(pk=victim.pk).update(payload={**victim.payload, "verdict": "reject"})
    with pytest.raises(CommandError, match=f"broken at event {victim.pk}"):
        call_command("audit_verify")
    AuditEvent.objects.filter(pk=victim.pk).update(payload=victim.payload)
    assert audit_chain_verify().ok
    removed = AuditEvent.objects.order_by("id")[2]
    AuditEvent.objects.filter(pk=removed.pk).delete()
    report = audit_chain_verify()
    assert not report.ok and report.first_broken > removed.pk and "does not point" in report.reason


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_sign_offs_end_in_one_consistent_state(cast):
    reviewers = [get_user_model().objects.create_user(f"reviewer{i}", is_staff=True) for i in range(20)]
    review_round = round_open(brief=cast["brief_a"], versions=[cast["version_a"]], stage="client", opened_by=cast["alice"],
                              reviewers=reviewers)
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
