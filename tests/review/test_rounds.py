import io

import pytest
from PIL import Image

from assets.errors import ApplicationError
from assets.models import Version
from review.contact_sheet import contact_sheet_render
from review.models import Approval, Decision, ReviewRound
from review.selectors import brief_cycle_stats, rollup, round_results, version_final_approval
from review.services.curation import rating_set
from review.services.rounds import decision_record, round_close, round_open

V = Decision.Verdict
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("verdicts", "result"),
    [
        ([V.APPROVE, V.APPROVE], V.APPROVE),
        ([V.APPROVE, V.CHANGES_REQUESTED], V.CHANGES_REQUESTED),
        ([V.CHANGES_REQUESTED, V.REJECT, V.APPROVE], V.REJECT),
        ([], "undecided"),
    ],
)
def test_rollup_rule(verdicts, result):
    assert rollup(verdicts) == result


def test_round_closes_when_everyone_has_decided_and_binds_the_approval_to_bytes(cast):
    brief, version = cast["brief_a"], cast["version_a"]
    review_round = round_open(
        brief=brief,
        versions=[version],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["dana"], cast["alice"]],
    )
    decision_record(review_round=review_round, version=version, verdict=V.CHANGES_REQUESTED, reviewer=cast["dana"])
    decision_record(review_round=review_round, version=version, verdict=V.APPROVE, reviewer=cast["dana"])
    review_round.refresh_from_db()
    assert review_round.status == "open"  # Alice has not decided yet
    assert round_results(review_round=review_round) == {version.pk: V.APPROVE}  # Dana's newest decision counts
    decision_record(review_round=review_round, version=version, verdict=V.APPROVE, reviewer=cast["alice"])
    review_round.refresh_from_db()
    assert review_round.status == "closed"
    approval = version_final_approval(version=version)
    assert approval is not None and approval.sha256 == version.blob_id and approval.final
    assert Version.objects.get(pk=version.pk).status == Version.Status.APPROVED


def test_internal_approval_is_not_final(cast):
    review_round = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="internal",
        opened_by=cast["alice"],
        reviewers=[cast["bob"]],
    )
    decision_record(review_round=review_round, version=cast["version_a"], verdict=V.APPROVE, reviewer=cast["bob"])
    assert Approval.objects.get().final is False
    assert version_final_approval(version=cast["version_a"]) is None


def test_next_round_links_the_previous_and_closed_rounds_are_locked(cast):
    brief, version = cast["brief_a"], cast["version_a"]
    first = round_open(
        brief=brief, versions=[version], stage="internal", opened_by=cast["alice"], reviewers=[cast["bob"]]
    )
    with pytest.raises(ApplicationError, match="still open"):
        round_open(brief=brief, versions=[version], stage="client", opened_by=cast["alice"])
    round_close(review_round=first, closed_by=cast["alice"])
    with pytest.raises(ApplicationError, match="closed"):
        decision_record(review_round=first, version=version, verdict=V.APPROVE, reviewer=cast["bob"])
    second = round_open(brief=brief, versions=[cast["version_a2"]], stage="client", opened_by=cast["alice"])
    assert second.previous == first and second.number == 2


def test_only_invited_reviewers_decide_and_client_users_only_in_client_rounds(cast):
    internal = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="internal",
        opened_by=cast["alice"],
        reviewers=[cast["bob"]],
    )
    with pytest.raises(ApplicationError, match="client users decide in client rounds only"):
        decision_record(review_round=internal, version=cast["version_a"], verdict=V.APPROVE, reviewer=cast["dana"])
    with pytest.raises(ApplicationError, match="not invited"):
        decision_record(review_round=internal, version=cast["version_a"], verdict=V.APPROVE, reviewer=cast["alice"])
    with pytest.raises(ApplicationError, match="client user and cannot review an internal round"):
        round_open(
            brief=cast["brief_b"],
            versions=[cast["version_b"]],
            stage="internal",
            opened_by=cast["alice"],
            reviewers=[cast["charlie"]],
        )
    with pytest.raises(ApplicationError, match="cannot see this client"):
        round_open(
            brief=cast["brief_b"],
            versions=[cast["version_b"]],
            stage="client",
            opened_by=cast["alice"],
            reviewers=[cast["dana"]],
        )
    assert not Decision.objects.exists()


def test_pins_outside_the_image_are_refused(cast):
    from review.services.rounds import PinInput

    review_round = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["dana"]],
    )
    with pytest.raises(ApplicationError, match="outside the image"):
        decision_record(
            review_round=review_round,
            version=cast["version_a"],
            verdict=V.CHANGES_REQUESTED,
            reviewer=cast["dana"],
            pins=[PinInput(x=0.9, y=0.5, w=0.3, h=0.1)],
        )
    assert not Decision.objects.exists()


def test_cycle_stats_and_contact_sheet(cast):
    brief, version = cast["brief_a"], cast["version_a"]
    rating_set(version=version, reviewer=cast["bob"], stars=4)
    internal = round_open(
        brief=brief,
        versions=[version, cast["version_a2"]],
        stage="internal",
        opened_by=cast["alice"],
        reviewers=[cast["bob"]],
    )
    decision_record(review_round=internal, version=version, verdict=V.APPROVE, reviewer=cast["bob"], comment="good")
    decision_record(review_round=internal, version=cast["version_a2"], verdict=V.REJECT, reviewer=cast["bob"])
    # The internal round approved v1: the brief's automation opened the client round with it, for the client's reviewer.
    client = ReviewRound.objects.get(brief=brief, stage="client")
    assert list(client.versions.all()) == [version] and list(client.reviewers.all()) == [cast["dana"]]
    stats = brief_cycle_stats(brief=brief, viewer=cast["alice"])
    assert stats["cycles"] == 2
    assert [r["stage"] for r in stats["rounds"]] == ["internal", "client"]
    assert stats["rounds"][0]["status"] == "closed" and stats["rounds"][1]["status"] == "open"
    assert set(stats["gpu_seconds_by_phase"]) == {"ideation", "production", "finishing", "delivery"}
    assert Version.objects.get(pk=cast["version_a2"].pk).status == Version.Status.REJECTED

    png = contact_sheet_render(review_round=internal, image_format="PNG")
    with Image.open(io.BytesIO(png)) as sheet:
        assert sheet.format == "PNG" and sheet.width > 600
    pdf = contact_sheet_render(review_round=client, image_format="PDF")
    assert pdf.startswith(b"%PDF")
    assert ReviewRound.objects.count() == 2
