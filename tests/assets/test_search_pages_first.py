"""Search finds its page inside the index (the search row's brief and recipe weights beside the words) and still
returns what ranking every match returns: the same pages, ties broken by id, the same across pages."""

import random

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef
from rest_framework.pagination import PageNumberPagination

from assets.models import Derivation, Generated, ModelWeights, Phase, Prompt, Used, Version, VersionSearch
from assets.services.briefs import brief_create
from review.roles import PRODUCER, roles_ensure
from tests.factories import api_as, make_brief, member, shared_blob

pytestmark = pytest.mark.django_db

WORDS = ["amber", "fox", "harbour", "neon", "citrus", "glass", "velvet", "storm"]


@pytest.fixture
def lineage():
    """300 versions over three briefs of two clients, three base models, CFG 4–9, prompts of few words (many ties
    of rank, some words twice so ranks differ); half record their edges before the output, half after."""
    roles_ensure()
    rng = random.Random(5)
    first = make_brief(client_name="Aurora", title="One")
    briefs = [first, brief_create(campaign=first.campaign, title="Two"), make_brief(client_name="Borealis")]
    models = [
        ModelWeights.objects.create(
            kind="base", architecture="sd15", name=f"base_{n}", sha256=f"{n + 1:x}" * 64, size=1, format="safetensors"
        )
        for n in range(3)
    ]
    for index in range(300):
        brief = rng.choice(briefs)
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 4)))
        prompt = Prompt.objects.create(brief=brief, text=text, negative_text="blurry", digest=f"{index:064x}")
        derivation = Derivation.objects.create(
            brief=brief,
            op="txt2img",
            phase=Phase.IDEATION,
            state=Derivation.State.SUCCEEDED,
            params={"seed": index, "cfg": 4 + index % 6},
        )
        version = Version.objects.create(brief=brief, blob=shared_blob(), width=8, height=8, format="PNG")
        edges = [
            Used(derivation=derivation, role=Used.Role.PROMPT, prompt=prompt),
            Used(derivation=derivation, role=Used.Role.BASE_MODEL, model_weights=models[index % 3]),
        ]
        if index % 2:
            Used.objects.bulk_create(edges)
        Generated.objects.create(derivation=derivation, version=version)
        if not index % 2:
            Used.objects.bulk_create(edges)
    return {"briefs": briefs, "models": models, "producer": member("paula", PRODUCER)}


def _ranked_everything(*, text: str, client_id: int | None, model: ModelWeights, cfg: int) -> list[int]:
    """Every match ranked, then filtered and sorted here: the order the page must follow."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT version_id, ts_rank(document, websearch_to_tsquery('english', %s)) FROM assets_versionsearch "
            "WHERE document @@ websearch_to_tsquery('english', %s)",
            [text, text],
        )
        ranks = dict(cursor.fetchall())
    used = Used.objects.filter(derivation=OuterRef("generated_by__derivation"), model_weights=model)
    passing = Version.objects.filter(Exists(used), generated_by__derivation__params__cfg__gte=cfg)
    if client_id is not None:
        passing = passing.filter(brief__campaign__client_id=client_id)
    passing = passing.values_list("pk", flat=True)
    return sorted((pk for pk in passing if pk in ranks), key=lambda pk: (-ranks[pk], -pk))


def _page(api, params: dict, page: int) -> list[int]:
    response = api.get("/api/versions/", {**params, "page": page})
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.parametrize("through_index", [False, True], ids=["planner", "index"])
def test_pages_are_those_of_ranking_every_match(lineage, through_index, monkeypatch):
    monkeypatch.setattr(PageNumberPagination, "page_size", 20)  # pages of 20 over a few hundred rows
    if through_index:  # a few hundred rows read faster whole; the plan of a large table goes through the GIN index
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
    api = api_as(lineage["producer"])
    client_id = lineage["briefs"][0].campaign.client_id
    sizes = []
    # The last one across every client: Postgres is not told the brief when the filters do not name briefs.
    queries = [("fox OR amber", 0, 4), ("harbour OR neon", 1, 6), ("storm", 2, 5), ("glass -velvet", 0, 7)]
    for (text, model, cfg), client in zip(queries, [client_id, client_id, client_id, None], strict=True):
        weights = lineage["models"][model]
        expected = _ranked_everything(text=text, client_id=client, model=weights, cfg=cfg)
        params = {"q": text, "model": weights.sha256[:10], "cfg_min": cfg, **({"client": client} if client else {})}
        pages = [_page(api, params, 1), _page(api, params, 2)] if len(expected) > 20 else [_page(api, params, 1)]
        assert [pk for page in pages for pk in page] == expected[: 20 * len(pages)], text
        sizes.append(len(expected))
    assert max(sizes) > 20 and min(sizes) > 0, sizes  # one query spans two pages, none finds nothing


def test_the_search_row_holds_its_version_s_brief_and_every_weights_file_of_its_recipe(lineage):
    lora = ModelWeights.objects.create(
        kind="lora", architecture="sd15", name="brand", sha256="f" * 64, size=1, format="safetensors"
    )
    version = Version.objects.filter(brief=lineage["briefs"][2]).first()
    Used.objects.create(derivation=version.generated_by.derivation, role=Used.Role.LORA, model_weights=lora, weight=1)
    rows = VersionSearch.objects.select_related("version__generated_by")
    assert len(rows) == 300
    for row in rows:
        used = Used.objects.filter(derivation=row.version.generated_by.derivation_id, model_weights__isnull=False)
        assert (row.brief_id, row.model_weights) == (
            row.version.brief_id,
            sorted(used.values_list("model_weights_id", flat=True)),
        )
    assert lora.pk in VersionSearch.objects.get(version=version).model_weights
