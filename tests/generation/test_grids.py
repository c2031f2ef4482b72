"""Comparison grids: every cell a version with its own recipe, a labelled sheet that uses them all, caps and cancel."""

import io

import pytest
from django.test import Client
from PIL import Image

from assets.models import Derivation, Used
from assets.services.blobs import blob_open
from generation.models import GridJob
from generation.requests import LoraSpec
from generation.services.grids import grid_cancel, grid_create, grid_progress, grid_sheet_make, grid_table
from review.models import ReviewRound
from review.roles import CLIENT_REVIEWER, PRODUCER, roles_ensure
from tests.factories import api_as, make_brief, member
from tests.generation.conftest import FAST

pytestmark = pytest.mark.django_db


def test_a_two_by_three_grid_makes_six_cells_and_a_sheet_that_uses_them(tiny, run_jobs):
    brief = make_brief()
    with run_jobs():
        grid = grid_create(
            brief=brief,
            base_model=tiny["base"],
            prompt_text="a red can on a roof",
            loras=[LoraSpec(weights=tiny["lora_a"], weight=0.8)],
            params={**FAST, "seed": 7},
            axes=[{"kind": "cfg", "values": [4, 9]}, {"kind": "prompt_sr", "values": ["red", "blue", "green"]}],
        )
    progress = grid_progress(grid=grid)
    assert (progress["cells"], progress["done"], progress["state"]) == (6, 6, "ready for its sheet")
    table = grid_table(grid=grid)
    assert [cell["labels"] for cell in table] == [
        ["4", "red"],
        ["4", "blue"],
        ["4", "green"],
        ["9", "red"],
        ["9", "blue"],
        ["9", "green"],
    ]
    assert table[0]["diff"] == []
    assert {(d["field"], d["first"], d["here"]) for d in table[4]["diff"]} == {
        ("cfg", 4.0, 9.0),
        ("prompt", "a red can on a roof", "a blue can on a roof"),
    }
    sheet = grid_sheet_make(grid=grid)
    assert grid_sheet_make(grid=grid) == sheet  # made once
    derivation = sheet.generated_by.derivation
    assert derivation.op == "grid" and derivation.params == {"axes": ["CFG scale", "Prompt S/R"], "cells": 6}
    assert sorted(derivation.used.filter(role=Used.Role.PARENT).values_list("version_id", flat=True)) == sorted(
        cell["version"] for cell in table
    )
    with blob_open(blob=sheet.blob) as handle, Image.open(io.BytesIO(handle.read())) as image:
        assert image.width >= 2 * 256 and image.height >= 3 * 256  # cells at their size, labels beside them
    assert grid_progress(grid=GridJob.objects.get(pk=grid.pk))["state"] == "done"


def test_grids_are_refused_whole_when_wrong_and_cancel_what_still_runs(tiny, settings):
    brief = make_brief()
    before = Derivation.objects.count()
    settings.SEED_GRID_MAX_CELLS = 8
    cases = [
        ([{"kind": "cfg", "values": [1, 2, 3]}, {"kind": "steps", "values": [2, 3, 4]}], "at most 8"),
        ([{"kind": "colour", "values": [1]}], "unknown grid axis"),
        ([{"kind": "sampler", "values": ["warp_drive"]}], "unknown sampler"),
        ([{"kind": "prompt_sr", "values": ["purple", "blue"]}], "must occur in the prompt"),
        ([{"kind": "lora_weight", "lora": 999, "values": [0.2]}], "names one of the grid's LoRAs"),
        ([{"kind": "steps", "values": ["many"]}], "wrong type"),
        ([{"kind": "cfg", "values": [1]}] * 4, "one to 3 axes"),
    ]
    for axes, message in cases:
        with pytest.raises(Exception, match=message):
            grid_create(brief=brief, base_model=tiny["base"], prompt_text="a red can", params=FAST, axes=axes)
    assert Derivation.objects.count() == before and not GridJob.objects.exists()
    grid = grid_create(
        brief=brief,
        base_model=tiny["base"],
        prompt_text="a red can",
        params=FAST,
        axes=[{"kind": "seed", "values": [1, 2]}],
    )
    with pytest.raises(Exception, match="0 of 2 cells are made"):
        grid_sheet_make(grid=grid)
    assert grid_cancel(grid=grid) == 2 and grid_progress(grid=grid)["state"] == "cancelled"


def test_grids_through_the_api_and_the_admin(tiny, run_jobs):
    roles_ensure()
    brief = make_brief()
    producer = member("paula", PRODUCER)
    api = api_as(producer)
    with run_jobs():
        created = api.post(
            "/api/grids/",
            {
                "brief": brief.pk,
                "base_model": tiny["base"].pk,
                "prompt": "a can",
                "loras": [{"weights": tiny["lora_a"].pk, "weight": 0.5}],
                "params": FAST,
                "axes": [
                    {"kind": "lora_weight", "lora": tiny["lora_a"].pk, "values": [0, 1]},
                    {"kind": "model", "values": [tiny["base"].pk]},
                ],
            },
            format="json",
        )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["progress"]["cells"] == 2 and [c["labels"] for c in body["cells"]] == [
        ["0", tiny["base"].name],
        ["1", tiny["base"].name],
    ]
    assert body["cells"][1]["diff"] == [{"field": f"lora {tiny['lora_a'].name}", "first": 0.0, "here": 1.0}]
    made = api.post(f"/api/grids/{body['id']}/sheet/")
    assert made.status_code == 200 and made.json()["progress"]["sheet"]
    opened = api.post(f"/api/grids/{body['id']}/round/")
    assert opened.status_code == 201
    review_round = ReviewRound.objects.get(pk=opened.json()["round"])
    assert sorted(review_round.versions.values_list("pk", flat=True)) == sorted(
        c["version"] for c in made.json()["cells"]
    )
    assert review_round.stage == "internal" and review_round.title.startswith(f"grid #{body['id']}")
    refused = api.post(
        "/api/grids/",
        {
            "brief": brief.pk,
            "base_model": tiny["base"].pk,
            "prompt": "a can",
            "axes": [{"kind": "cfg", "values": list(range(300))}],
        },
        format="json",
    )
    assert refused.status_code == 400 and "1 to 50 values" in refused.json()["message"]
    web = Client()
    web.force_login(producer)
    page = web.get(f"/admin/generation/gridjob/{body['id']}/change/").content.decode()
    assert f"lora {tiny['lora_a'].name}: 0.0 → 1.0" in page and "the first cell" in page
    client = member("cleo", CLIENT_REVIEWER, brief.campaign.client)
    assert api_as(client).post(f"/api/grids/{body['id']}/sheet/").status_code in (403, 404)


def test_the_grid_admin_opens_a_grids_cells_as_a_review_round(tiny, run_jobs):
    """The action is review's, added to generation's grid page: the grid app itself knows nothing of rounds."""
    roles_ensure()
    producer = member("paula", PRODUCER)
    with run_jobs():
        grid = grid_create(
            brief=make_brief(),
            base_model=tiny["base"],
            prompt_text="a can",
            params=FAST,
            axes=[{"kind": "cfg", "values": [4, 9]}],
        )
    web = Client()
    web.force_login(producer)
    assert "Open the selected grids as internal review rounds" in web.get("/admin/generation/gridjob/").content.decode()
    answer = web.post(
        "/admin/generation/gridjob/", {"action": "open_rounds", "_selected_action": [grid.pk]}, follow=True
    )
    review_round = ReviewRound.objects.get(brief=grid.brief)
    assert sorted(review_round.versions.values_list("pk", flat=True)) == sorted(grid_progress(grid=grid)["versions"])
    assert f"round {review_round.number} opened" in answer.content.decode()
