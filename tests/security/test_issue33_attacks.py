"""Attacks on issue 33 (soft proofs, slots, machine-read checks, review stages), through routes the issue names and some
it does not.

Alice produces (studio-wide), Bob reviews internally, Dana reviews for Aurora (client A), Charlie for Borealis (client
B), Gina produces for Borealis only (a scoped producer).

Holes these found when they were written, and hold the fixes of: the contact sheet's PDF (GET
/api/rounds/<id>/contact-sheet/?as=pdf&per_page=1) handed a client user the image at print resolution, up to about
2,200 px across (every master below that: the file itself, losslessly), while the round's stage locked full-resolution
files; a guest's share link of an earlier client round still served /full/ of a version an open client round now
locks; a template stage naming a decider the brief's client is out of scope for (a producer bound to another client,
or a member of a decider group who is) refused to open at all, so one scoped producer in the "Producer" group broke the
template for every other client's brief.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from assets.models import Brief, VersionCheck
from assets.services.versions import version_import
from delivery.models import ChannelPreset
from delivery.sample_icc import sample_cmyk_profile
from delivery.services.presets import preset_print_profile_set
from review.models import ReviewPolicy, ReviewRound
from review.roles import PRODUCER
from review.services.rounds import round_open
from review.services.share_links import share_link_create
from review.services.stages import step_open
from review.services.templates import StageSpec, review_template_ensure
from review.workspace import workspace_data
from tests.factories import api_as, image_file, member

pytestmark = pytest.mark.django_db


def raw_api(user):
    api = api_as(user)
    api.raise_request_exception = False
    return api


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def gina(cast):
    return member("gina", PRODUCER, cast["brief_b"].campaign.client)


@pytest.fixture
def press(cast):
    preset = ChannelPreset.objects.create(
        slug="print-a6",
        name="Print A6",
        width=1240,
        height=1748,
        format=ChannelPreset.Format.TIFF,
        colour_profile=ChannelPreset.Profile.CMYK,
        section="print",
        print_width_mm=105,
    )
    return preset_print_profile_set(preset=preset, source=ContentFile(sample_cmyk_profile(), name="press.icc"))


@pytest.fixture
def check(cast):
    """A measured check on Aurora's master, with a picture of its measure."""
    return VersionCheck.objects.create(
        version=cast["version_a"],
        key="sharpness",
        kind="sharpness",
        label="Sharpness map",
        verdict="warn",
        detail="soft top left",
        artefact=cast["version_a2"].blob,
    )


def locked_client_round(cast, versions, name="Locked sign-off"):
    """A client round of a template stage that shows previews only, opened on Aurora's brief."""
    template = review_template_ensure(
        name=name,
        stages=[StageSpec(step=1, name="Sign-off", audience="client", deciders=[cast["dana"]], downloads=False)],
    )
    ReviewPolicy.objects.update_or_create(brief=cast["brief_a"], defaults={"template": template})
    [review_round] = step_open(
        brief=cast["brief_a"], template=template, step=1, versions=versions, opened_by=cast["alice"]
    )
    return review_round


# --- Machine-read checks: the studio's own, per client ------------------------------------------------------------


def test_checks_api_refuses_client_users_guests_and_other_clients_producers(cast, gina, check):
    version = cast["version_a"]
    routes = [
        ("get", f"/api/versions/{version.pk}/checks/", None),
        ("get", f"/api/checks/{check.pk}/artefact/", None),
        ("post", f"/api/checks/{check.pk}/overrule/", {"verdict": "pass", "reason": "looks fine to me"}),
    ]
    for method, path, body in routes:
        assert getattr(raw_api(cast["dana"]), method)(path, body, format="json").status_code == 403, path
        assert getattr(raw_api(cast["charlie"]), method)(path, body, format="json").status_code == 403, path
        assert getattr(raw_api(gina), method)(path, body, format="json").status_code == 404, path
        assert getattr(Client(), method)(path, body or {}).status_code in (401, 403), path
    check.refresh_from_db()
    assert check.overruled_verdict == "" and check.overruled_by is None
    # The studio reads them: the same routes answer Alice.
    assert api_as(cast["alice"]).get(f"/api/versions/{version.pk}/checks/").json()["checks"][0]["id"] == check.pk
    assert api_as(cast["alice"]).get(f"/api/checks/{check.pk}/artefact/").status_code == 200


def test_a_client_user_granted_the_overrule_permission_is_still_refused(cast, check):
    from django.contrib.auth.models import Permission

    dana = cast["dana"]
    dana.user_permissions.add(Permission.objects.get(codename="change_versioncheck"))
    dana = type(dana).objects.get(pk=dana.pk)
    answer = raw_api(dana).post(f"/api/checks/{check.pk}/overrule/", {"verdict": "fail", "reason": "x"}, format="json")
    assert answer.status_code == 403
    check.refresh_from_db()
    assert check.overruled_verdict == ""


@pytest.mark.parametrize(
    "body",
    [
        {"verdict": "unknown", "reason": "cannot tell"},
        {"verdict": "pass"},
        {"verdict": "pass", "reason": "   "},
        {"verdict": "pass", "reason": "x" * 2001},
        {"verdict": "PASS", "reason": "shouting"},
    ],
)
def test_overrule_refuses_bad_verdicts_and_missing_reasons_writing_nothing(cast, check, body):
    answer = raw_api(cast["bob"]).post(f"/api/checks/{check.pk}/overrule/", body, format="json")
    assert answer.status_code == 400, answer.content
    check.refresh_from_db()
    assert check.overruled_verdict == "" and check.overrule_reason == ""


def test_client_pages_and_version_api_carry_no_checks(cast, check):
    review_round = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["dana"]],
    )
    assert workspace_data(review_round=review_round, user=cast["dana"], for_client=True)["checks"] is None
    detail = api_as(cast["dana"]).get(f"/api/versions/{cast['version_a'].pk}/")
    assert detail.status_code == 200
    assert "Sharpness map" not in detail.content.decode() and "soft top left" not in detail.content.decode()
    page = signed_in(cast["dana"]).get(f"/admin/review/reviewround/{review_round.pk}/workspace/")
    assert page.status_code == 200
    assert b"soft top left" not in page.content and b"/api/checks/" not in page.content


# --- Proof and slots: studio pages, per client, with hostile parameters --------------------------------------------


def test_proof_and_slots_are_hidden_from_a_producer_bound_to_another_client(cast, gina, press):
    version = cast["version_a"]
    pages = [
        f"/review/versions/{version.pk}/proof/",
        f"/review/versions/{version.pk}/proof/image/?layer=gamut",
        f"/review/versions/{version.pk}/slots/",
        f"/review/versions/{version.pk}/slots/print-a6.png",
    ]
    for page in pages:
        assert signed_in(gina).get(page).status_code == 404, page
        assert signed_in(cast["charlie"]).get(page).status_code == 404, page
    assert signed_in(gina).get(f"/review/versions/{cast['version_b'].pk}/proof/").status_code == 200


def test_proof_refuses_presets_that_are_not_print_and_garbage_options(cast, press):
    ChannelPreset.objects.create(slug="web-square", name="Web square", width=64, height=64)
    ChannelPreset.objects.create(
        slug="old-print",
        name="Old print",
        width=64,
        height=64,
        colour_profile=ChannelPreset.Profile.CMYK,
        print_profile=press.print_profile,
        active=False,
    )
    staff = signed_in(cast["alice"])
    base = f"/review/versions/{cast['version_a'].pk}/proof/"
    for query, status in [
        ("preset=web-square", 404),
        ("preset=old-print", 404),
        ("preset=../../etc/passwd", 404),
        ("intent=" + "x" * 5000, 400),
        ("intent=relative%00", 400),
        ("bpc=2", 400),
        ("paper=yes", 400),
    ]:
        assert staff.get(f"{base}?{query}").status_code == status, query
        assert staff.get(f"{base}image/?{query}").status_code == status, query
    assert staff.get(f"{base}image/?layer=../../secret").status_code == 400


def test_slot_images_only_for_active_image_presets(cast, press):
    ChannelPreset.objects.create(slug="gone", name="Gone", width=64, height=64, active=False)
    ChannelPreset.objects.create(slug="deck", name="Deck", width=640, height=360, kind=ChannelPreset.Kind.PRESENTATION)
    staff = signed_in(cast["alice"])
    version = cast["version_a"]
    assert staff.get(f"/review/versions/{version.pk}/slots/gone.png").status_code == 404
    assert staff.get(f"/review/versions/{version.pk}/slots/deck.png").status_code == 404
    assert staff.get(f"/review/versions/{version.pk + 1000}/slots/print-a6.png").status_code == 404
    page = staff.get(f"/review/versions/{version.pk}/slots/")
    assert page.status_code == 200 and b"slots/gone.png" not in page.content and b"slots/deck.png" not in page.content


# --- Required copy: bounded input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "copy",
    [["SALE"] * 21, ["x" * 201], ["   "], ["SALE\x00"], "SALE 50%", [["nested"]]],
)
def test_required_copy_is_bounded_and_refused_whole(cast, copy):
    before = Brief.objects.count()
    answer = raw_api(cast["alice"]).post(
        "/api/briefs/",
        {"campaign": cast["brief_a"].campaign_id, "title": "Copy attack", "required_copy": copy},
        format="json",
    )
    assert answer.status_code == 400, answer.content
    assert Brief.objects.count() == before


# --- Downloads locked by a stage: every door ------------------------------------------------------------------------


def big_version(cast, name="big.png"):
    """Larger than any preview (768 px), smaller than an A4 page at 300 ppi: the PDF would carry it whole."""
    return version_import(
        brief=cast["brief_a"], source=image_file(name, size=(900, 600), colour=(12, 140, 200)), label="big"
    )


def pdf_image_widths(data: bytes) -> list[int]:
    return [int(width) for width in re.findall(rb"/Width (\d+)", data)]


def test_contact_sheet_pdf_does_not_hand_a_client_the_full_resolution_a_stage_locks(cast):
    version = big_version(cast)
    review_round = locked_client_round(cast, [version])
    dana = api_as(cast["dana"])
    assert signed_in(cast["dana"]).get(f"/blobs/{version.blob_id}/").status_code == 403
    sheet = dana.get(f"/api/rounds/{review_round.pk}/contact-sheet/?as=pdf&per_page=1")
    assert sheet.status_code == 200 and sheet["Content-Type"] == "application/pdf"
    widths = pdf_image_widths(sheet.content)
    assert widths and max(widths) <= 768, widths
    # The studio's sheet, and a client's once downloads open, still carry print resolution.
    studio = api_as(cast["alice"]).get(f"/api/rounds/{review_round.pk}/contact-sheet/?as=pdf&per_page=1")
    assert max(pdf_image_widths(studio.content)) == 900
    review_round.review_stage.__class__.objects.filter(pk=review_round.review_stage_id).update(downloads=True)
    opened = dana.get(f"/api/rounds/{review_round.pk}/contact-sheet/?as=pdf&per_page=1")
    assert max(pdf_image_widths(opened.content)) == 900


def test_an_earlier_rounds_share_link_does_not_open_what_an_open_stage_locks(cast):
    version = cast["version_a"]
    earlier = round_open(
        brief=cast["brief_a"], versions=[version], stage="client", opened_by=cast["alice"], reviewers=[cast["dana"]]
    )
    _, token = share_link_create(
        review_round=earlier, expires=earlier.deadline or dt.date(2099, 1, 1), created_by=cast["alice"]
    )
    guest = Client()
    assert guest.get(f"/review/s/{token}/full/{version.pk}/").status_code == 200
    from review.services.rounds import round_close

    round_close(review_round=earlier, closed_by=cast["alice"])
    locked_client_round(cast, [version])
    # The client's signed-in reviewer is refused the file; the old link's guest must be too.
    assert signed_in(cast["dana"]).get(f"/blobs/{version.blob_id}/").status_code == 403
    assert guest.get(f"/review/s/{token}/full/{version.pk}/").status_code == 403
    assert guest.get(f"/review/s/{token}/image/{version.pk}/").status_code == 200  # the preview still shows


def test_closing_the_locking_round_does_not_open_the_file_only_a_stage_that_allows_it_does(cast):
    from review.services.rounds import round_close

    version = cast["version_a"]
    locked = locked_client_round(cast, [version])
    round_close(review_round=locked, closed_by=cast["alice"])
    dana = signed_in(cast["dana"])
    assert dana.get(f"/blobs/{version.blob_id}/").status_code == 403
    opening = review_template_ensure(
        name="Downloads at delivery",
        stages=[StageSpec(step=1, name="Delivery look", audience="client", deciders=[cast["dana"]], downloads=True)],
    )
    step_open(brief=cast["brief_a"], template=opening, step=1, versions=[version], opened_by=cast["alice"])
    assert dana.get(f"/blobs/{version.blob_id}/").status_code == 200


def test_the_blob_door_lock_holds_for_ranges_and_conditional_requests(cast):
    version = cast["version_a"]
    locked_client_round(cast, [version])
    dana = signed_in(cast["dana"])
    assert dana.get(f"/blobs/{version.blob_id}/", HTTP_RANGE="bytes=0-10").status_code == 403
    assert dana.get(f"/blobs/{version.blob_id}/", HTTP_IF_NONE_MATCH=f'"{version.blob_id}"').status_code == 403
    for size in (96, 256, 768):
        assert dana.get(f"/blobs/{version.blob_id}/thumb/{size}/").status_code == 200
    assert dana.get(f"/blobs/{version.blob_id}/thumb/4096/").status_code == 404
    # Another client's reviewer is not told of the lock: the file does not exist for them.
    assert signed_in(cast["charlie"]).get(f"/blobs/{version.blob_id}/").status_code == 404


# --- Stage templates: deciders out of the brief's reach -------------------------------------------------------------


def test_a_stage_decider_bound_to_another_client_is_left_out_not_a_failed_round(cast, gina):
    template = review_template_ensure(
        name="Legal for all",
        stages=[StageSpec(step=1, name="Legal", audience="legal", deciders=[cast["bob"], gina])],
    )
    ReviewPolicy.objects.create(brief=cast["brief_a"], template=template)
    review_round = round_open(
        brief=cast["brief_a"], versions=[cast["version_a"]], stage="internal", opened_by=cast["alice"]
    )
    invited = {invitation.reviewer.username for invitation in review_round.invitations.all()}
    assert invited == {"bob"}
    assert api_as(gina).get(f"/api/rounds/{review_round.pk}/").status_code == 404


def test_a_decider_group_holding_a_scoped_producer_still_runs_for_other_clients(cast, gina):
    template = review_template_ensure(
        name="Producers decide",
        stages=[StageSpec(step=1, name="Producers", decider_groups=[PRODUCER])],
    )
    ReviewPolicy.objects.create(brief=cast["brief_a"], template=template)
    review_round = round_open(
        brief=cast["brief_a"], versions=[cast["version_a"]], stage="internal", opened_by=cast["alice"]
    )
    assert {i.reviewer.username for i in review_round.invitations.all()} == {"alice"}


def test_client_stage_names_only_the_briefs_clients_people(cast):
    template = review_template_ensure(
        name="Client names",
        stages=[StageSpec(step=1, name="Client", audience="client", deciders=[cast["dana"], cast["charlie"]])],
    )
    [review_round] = step_open(
        brief=cast["brief_a"], template=template, step=1, versions=[cast["version_a"]], opened_by=cast["alice"]
    )
    assert review_round.stage == ReviewRound.Stage.CLIENT
    assert {i.reviewer.username for i in review_round.invitations.all()} == {"dana"}
    assert api_as(cast["charlie"]).get(f"/api/rounds/{review_round.pk}/").status_code == 404


def test_a_client_user_named_in_a_legal_stage_is_not_a_decider(cast):
    template = review_template_ensure(
        name="Legal with a client",
        stages=[StageSpec(step=1, name="Legal", audience="legal", deciders=[cast["bob"], cast["dana"]])],
    )
    [review_round] = step_open(
        brief=cast["brief_a"], template=template, step=1, versions=[cast["version_a"]], opened_by=cast["alice"]
    )
    assert {i.reviewer.username for i in review_round.invitations.all()} == {"bob"}
    answer = raw_api(cast["dana"]).post(
        f"/api/rounds/{review_round.pk}/decisions/",
        {"version": cast["version_a"].pk, "verdict": "approve"},
        format="json",
    )
    assert answer.status_code == 404
