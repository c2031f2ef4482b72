import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assets.models import Used
from assets.selectors import (
    lineage_graph,
    version_ancestry,
    version_descendants,
    versions_using_prompt,
    versions_using_reference,
)
from assets.services.briefs import reference_create
from assets.services.prompts import prompt_render, prompt_template_create
from tests.factories import chain, derive, image_file, make_brief

pytestmark = pytest.mark.django_db


@pytest.fixture
def diamond():
    """root -> (left, right) -> merge -> final, plus an unrelated version: shared ancestors on two paths."""
    brief = make_brief()
    root = derive(brief=brief)
    left = derive(brief=brief, parents=[root])
    right = derive(brief=brief, parents=[root])
    merge = derive(brief=brief, parents=[left, right])
    final = derive(brief=brief, parents=[merge])
    other = derive(brief=brief)
    return {"root": root, "left": left, "right": right, "merge": merge, "final": final, "other": other}


def test_ancestry_visits_shared_ancestors_once(diamond):
    ancestors = list(version_ancestry(version=diamond["final"]))
    assert sorted(v.pk for v in ancestors) == sorted(diamond[k].pk for k in ("root", "left", "right", "merge"))


def test_descendants_answer_what_was_made_from_a_version(diamond):
    assert {v.pk for v in version_descendants(version=diamond["root"])} == {
        diamond[k].pk for k in ("left", "right", "merge", "final")
    }
    assert not version_descendants(version=diamond["other"]).exists()


def _query_count(func) -> int:
    with CaptureQueriesContext(connection) as queries:
        func()
    return len(queries)


@pytest.mark.parametrize(
    "selector",
    [
        lambda v: list(version_ancestry(version=v)),
        lambda v: list(version_descendants(version=v)),
        lambda v: lineage_graph(version=v).as_dict(),
    ],
    ids=["ancestry", "descendants", "lineage_graph"],
)
def test_query_count_is_the_same_for_a_chain_of_3_and_of_300(selector):
    brief = make_brief()
    short = chain(brief=brief, length=3)
    long = chain(brief=brief, length=300)
    for end in (short[-1], short[0], long[-1], long[0]):
        end.refresh_from_db()
    counts = {
        "short": _query_count(lambda: selector(short[-1])),
        "long": _query_count(lambda: selector(long[-1])),
        "short_root": _query_count(lambda: selector(short[0])),
        "long_root": _query_count(lambda: selector(long[0])),
    }
    assert counts["short"] == counts["long"] <= 4, counts
    assert counts["short_root"] == counts["long_root"], counts
    assert len(list(version_ancestry(version=long[-1]))) == 299
    assert len(list(version_descendants(version=long[0]))) == 299


def test_ancestry_and_descendants_are_one_statement(diamond):
    assert _query_count(lambda: list(version_ancestry(version=diamond["final"]))) == 1
    assert _query_count(lambda: list(version_descendants(version=diamond["root"]))) == 1


def test_lineage_graph_has_every_node_and_edge(diamond):
    graph = lineage_graph(version=diamond["final"]).as_dict()
    ids = {node["id"] for node in graph["nodes"]}
    assert {f"version:{diamond[k].pk}" for k in ("root", "left", "right", "merge", "final")} <= ids
    assert f"version:{diamond['other'].pk}" not in ids
    used = [e for e in graph["edges"] if e["type"] == "used"]
    assert sorted((e["from"], e["to"]) for e in used) == sorted(
        (f"version:{diamond[src].pk}", f"derivation:{diamond[dst].generated_by.derivation_id}")
        for src, dst in (("root", "left"), ("root", "right"), ("left", "merge"), ("right", "merge"), ("merge", "final"))
    )
    generated = [e for e in graph["edges"] if e["type"] == "generated"]
    assert len(generated) == 5


def test_impact_queries_follow_the_graph_down(diamond):
    brief = diamond["root"].brief
    prompt = prompt_render(template=prompt_template_create(brief=brief, name="t", text="{x}"), values={"x": "can"})
    reference = reference_create(brief=brief, source=image_file())
    derivation = diamond["left"].generated_by.derivation
    Used.objects.create(derivation=derivation, role=Used.Role.PROMPT, prompt=prompt)
    Used.objects.create(derivation=derivation, role=Used.Role.REFERENCE, reference=reference)
    expected = {diamond[k].pk for k in ("left", "merge", "final")}
    assert {v.pk for v in versions_using_prompt(prompt=prompt)} == expected
    assert {v.pk for v in versions_using_reference(reference=reference)} == expected
    assert _query_count(lambda: list(versions_using_prompt(prompt=prompt))) == 1
