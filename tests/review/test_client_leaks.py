"""What a client reviewer (dana) and a share-link guest must not learn in the review app: internal decisions, directly
or through the result they change, the studio's curation (stars, seed, triage, checklist, machine time), recipes
without lineage sharing, the studio's people's names and other guests' addresses, and "before" images from internal
rounds. The studio (alice) still sees all of it."""

import datetime as dt
import json
import re

import fpdf
import pytest
from django.test import Client
from django.urls import reverse

from assets.models import Version
from review.models import ChecklistItem, ReviewPolicy
from review.selectors import round_results
from review.services.curation import rating_set
from review.services.rounds import decision_record, round_close, round_open
from review.services.share_links import share_link_create
from tests.factories import api_as, with_triggers_off

pytestmark = pytest.mark.django_db

GUEST = "gina@client.example"
SECRET = "INTERNALCOMMENT kill it"


def _admin(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def _workspace(html: str) -> dict:
    return json.loads(
        re.search(r'<script id="seed-workspace" type="application/json">(.*?)</script>', html, re.S).group(1)
    )


@pytest.fixture
def vetoed(cast):
    """An open client round of version_a and version_a2: bob rejects version_a internally, dana approves it."""
    ReviewPolicy.objects.create(brief=cast["brief_a"], automate_stages=False)
    review_round = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"], cast["version_a2"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["bob"], cast["dana"]],
    )
    decision_record(
        review_round=review_round,
        version=cast["version_a"],
        verdict="reject",
        comment=SECRET,
        reviewer=cast["bob"],
        internal=True,
    )
    decision_record(review_round=review_round, version=cast["version_a"], verdict="approve", reviewer=cast["dana"])
    return review_round


def test_the_client_result_counts_only_client_visible_decisions_and_the_studios_tally_is_unchanged(cast, vetoed):
    version = cast["version_a"].pk
    assert round_results(review_round=vetoed)[version] == "reject"  # the studio's tally, which closes the round
    assert round_results(review_round=vetoed, for_client=True)[version] == "approve"


def test_the_sign_off_desk_shows_a_client_neither_internal_decisions_nor_the_result_they_make(cast, vetoed):
    desk = reverse("admin:review_roundversion_changelist") + f"?review_round__id__exact={vetoed.pk}"
    dana = _admin(cast["dana"]).get(desk)
    assert dana.status_code == 200
    html = dana.content.decode()
    assert "INTERNALCOMMENT" not in html and "bob" not in html and "Rejected" not in html and "rejected" not in html
    assert "approved" in html
    studio = _admin(cast["alice"]).get(desk).content.decode()
    assert "INTERNALCOMMENT" in studio and "rejected" in studio


def test_the_round_board_shows_a_client_the_client_result(cast, vetoed):
    page = reverse("admin:review_reviewround_change", args=[vetoed.pk])
    html = _admin(cast["dana"]).get(page).content.decode()
    assert "INTERNALCOMMENT" not in html and "rejected" not in html and "approved" in html
    assert "rejected" in _admin(cast["alice"]).get(page).content.decode()


@pytest.fixture
def two_client_rounds(cast):
    """Client round 1 shows version_a; client round 2 shows version_a2 in the same slot (its "before" is version_a)."""
    ReviewPolicy.objects.create(brief=cast["brief_a"], automate_stages=False)
    first = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["dana"]],
    )
    round_close(review_round=first, closed_by=cast["alice"])
    return round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a2"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["dana"]],
    )


def test_recipe_diffs_need_lineage_sharing_on_the_board_and_in_the_api(cast, two_client_rounds):
    page = reverse("admin:review_reviewround_change", args=[two_client_rounds.pk])
    diff = f"/api/versions/{cast['version_a'].pk}/diff/{cast['version_a2'].pk}/"
    studio_board = _admin(cast["alice"]).get(page).content.decode()
    assert "<th>changed</th>" in studio_board or "same recipe" in studio_board
    assert api_as(cast["alice"]).get(diff).status_code == 200

    board = _admin(cast["dana"]).get(page).content.decode()
    assert "<th>changed</th>" not in board and "same recipe" not in board
    assert f"v{cast['version_a'].pk} (round 1)" in board  # the client was shown that image: its "before" stays
    response = api_as(cast["dana"]).get(diff)
    assert response.status_code == 404 and "not shared" in response.json()["message"]

    client = cast["brief_a"].campaign.client
    client.shares_lineage = True
    client.save(update_fields=["shares_lineage"])
    shared = _admin(cast["dana"]).get(page).content.decode()
    assert "<th>changed</th>" in shared or "same recipe" in shared
    assert api_as(cast["dana"]).get(diff).status_code == 200


def test_the_guest_page_shows_the_client_result_and_no_triage(cast):
    ReviewPolicy.objects.create(brief=cast["brief_a"], automate_stages=False)
    review_round = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["bob"], cast["dana"]],
    )
    Version.objects.filter(pk=cast["version_a"].pk).update(triage=Version.Triage.MAYBE_LATER)
    decision_record(
        review_round=review_round,
        version=cast["version_a"],
        verdict="reject",
        comment=SECRET,
        reviewer=cast["bob"],
        internal=True,
    )
    _, token = share_link_create(review_round=review_round, created_by=cast["alice"], expires=dt.date(2099, 1, 1))
    html = Client().get(reverse("share-page", args=[token])).content.decode()
    [version] = _workspace(html)["versions"]
    assert version["result"] == "undecided" and "triage" not in version
    assert "maybe_later" not in html and "INTERNALCOMMENT" not in html
    studio = _workspace(
        _admin(cast["alice"])
        .get(reverse("admin:review_reviewround_workspace", args=[review_round.pk]))
        .content.decode()
    )
    assert studio["versions"][0]["result"] == "rejected" and studio["versions"][0]["triage"] == "maybe_later"


def test_the_contact_sheet_leaves_out_studio_curation_and_internal_results_for_a_client(cast, vetoed, monkeypatch):
    with with_triggers_off():  # an imported version records no seed; give it one to look for
        Version.objects.filter(pk=cast["version_a"].pk).update(seed=424242)
    rating_set(version=cast["version_a"], reviewer=cast["bob"], stars=5)
    printed = []
    cell = fpdf.FPDF.cell

    def recording(self, *args, **kwargs):
        printed.append(str(kwargs.get("text", args[2] if len(args) > 2 else "")))
        return cell(self, *args, **kwargs)

    monkeypatch.setattr(fpdf.FPDF, "cell", recording)
    url = f"/api/rounds/{vetoed.pk}/contact-sheet/?as=pdf"
    assert api_as(cast["dana"]).get(url).status_code == 200
    client_text = " ".join(printed)
    assert "424242" not in client_text and "stars" not in client_text and "rejected" not in client_text
    assert "approved" in client_text
    printed.clear()
    assert api_as(cast["alice"]).get(url).status_code == 200
    studio_text = " ".join(printed)
    assert "seed 424242" in studio_text and "5.0/5 stars" in studio_text and "rejected" in studio_text


@pytest.fixture
def waiting(cast):
    """An open client round waiting on bob (studio), dana, another guest and dana's own address."""
    ReviewPolicy.objects.create(brief=cast["brief_a"], automate_stages=False)
    return round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["bob"], cast["dana"]],
        guests=[GUEST, cast["dana"].email],
    )


def test_the_rounds_api_names_the_studio_and_other_guests_for_a_client(cast, waiting):
    dana = api_as(cast["dana"])
    for url in ("/api/rounds/", f"/api/rounds/{waiting.pk}/"):
        text = dana.get(url).content.decode()
        assert "bob" not in text and GUEST not in text, url
    body = dana.get(f"/api/rounds/{waiting.pk}/").json()
    assert sorted(i["name"] for i in body["invitees"]) == sorted(["Studio", "dana", "Guest", cast["dana"].email])
    assert body["reviewers"] == [cast["dana"].pk]
    assert "Studio (studio" in body["waiting_on"] and "Guest (guest" in body["waiting_on"]

    studio = api_as(cast["alice"]).get(f"/api/rounds/{waiting.pk}/").json()
    assert {"bob", GUEST} <= {i["name"] for i in studio["invitees"]}
    assert sorted(studio["reviewers"]) == sorted([cast["bob"].pk, cast["dana"].pk])


def test_the_admin_round_list_and_panel_name_the_studio_and_other_guests_for_a_client(cast, waiting):
    for url in (
        reverse("admin:review_reviewround_changelist"),
        reverse("admin:review_reviewround_change", args=[waiting.pk]),
    ):
        html = _admin(cast["dana"]).get(url).content.decode()
        assert "bob" not in html and GUEST not in html and "Studio" in html and "Guest" in html, url
        studio = _admin(cast["alice"]).get(url).content.decode()
        assert "bob" in studio and GUEST in studio, url


def test_a_client_users_workspace_has_no_before_from_an_internal_round_and_no_triage(cast):
    ReviewPolicy.objects.create(brief=cast["brief_a"], automate_stages=False)
    internal = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="internal",
        opened_by=cast["alice"],
        reviewers=[cast["bob"]],
    )
    round_close(review_round=internal, closed_by=cast["alice"])
    client_round = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a2"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["dana"]],
    )
    url = reverse("admin:review_reviewround_workspace", args=[client_round.pk])
    [version] = _workspace(_admin(cast["dana"]).get(url).content.decode())["versions"]
    assert version["before"] is None and "triage" not in version
    [studio] = _workspace(_admin(cast["alice"]).get(url).content.decode())["versions"]
    assert studio["before"]["id"] == cast["version_a"].pk and "triage" in studio


def test_the_checklist_is_refused_to_a_client_and_her_get_writes_nothing(cast):
    url = f"/api/briefs/{cast['brief_a'].pk}/checklist/"
    assert api_as(cast["dana"]).get(url).status_code == 403
    assert not ChecklistItem.objects.filter(brief=cast["brief_a"]).exists()
    assert [item["label"] for item in api_as(cast["alice"]).get(url).json()] != []


def test_cycle_stats_leave_the_studios_machine_time_out_for_a_client(cast):
    for url in (f"/api/briefs/{cast['brief_a'].pk}/cycle-stats/", f"/api/briefs/{cast['brief_a'].pk}/cycles/"):
        body = api_as(cast["dana"]).get(url).json()
        assert "gpu_seconds_by_phase" not in body and "wall_seconds_by_phase" not in body, url
        assert "gpu_seconds_by_phase" in api_as(cast["alice"]).get(url).json(), url
    page = _admin(cast["dana"]).get(reverse("admin:assets_brief_change", args=[cast["brief_a"].pk]))
    assert page.status_code == 200 and "GPU-seconds" not in page.content.decode()
