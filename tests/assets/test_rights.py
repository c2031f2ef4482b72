"""Licences that follow the lineage: attached to what brought rights in, inherited by everything made from it."""

from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from assets.models import AuditEvent, Derivation, Licence, ModelWeights, Reference, ReproducibilityCheck, Used
from assets.rights import rights_problems, version_rights, versions_inheriting
from assets.services.licences import licence_save
from review.roles import CLIENT_REVIEWER, PRODUCER, roles_ensure
from tests.factories import api_as, derive, make_brief, member, shared_blob


def _weights(name: str, kind=ModelWeights.Kind.LORA) -> ModelWeights:
    return ModelWeights.objects.create(
        kind=kind,
        architecture=ModelWeights.Architecture.SD15,
        name=name,
        sha256=f"{abs(hash(name)):064x}"[-64:],
        size=1,
        format=ModelWeights.Format.SAFETENSORS,
    )


@pytest.fixture
def graph(db):
    """An imported photo → an img2img that used a stock reference → a generation step with a LoRA → a rendition."""
    roles_ensure()
    brief = make_brief(title="Spring catalogue")
    reference = Reference.objects.create(
        brief=brief, blob=shared_blob(), width=1, height=1, format="PNG", title="stock beach"
    )
    lora = _weights("film grain LoRA")
    imported = derive(brief=brief)
    edited = derive(brief=brief, parents=[imported], op="img2img")
    Used.objects.create(derivation=edited.generated_by.derivation, role=Used.Role.REFERENCE, reference=reference)
    styled = derive(brief=brief, parents=[edited], op="img2img")
    Used.objects.create(derivation=styled.generated_by.derivation, role=Used.Role.LORA, model_weights=lora, weight=0.8)
    rendition = derive(brief=brief, parents=[styled], op="rendition")
    photo = licence_save(
        values={
            "name": "Agency photo licence",
            "commercial_use": True,
            "attribution": "Photo: Agency X",
            "expires_on": date.today() + timedelta(days=400),
            "versions": [imported],
        }
    )
    stock = licence_save(
        values={
            "name": "Stock standard",
            "commercial_use": True,
            "attribution": "Beach © Stock Co.",
            "references": [reference],
        }
    )
    lora_terms = licence_save(
        values={
            "name": "CC BY-NC 4.0",
            "spdx_id": "CC-BY-NC-4.0",
            "commercial_use": False,
            "attribution": "Film grain by Jo",
            "model_weights": [lora],
        }
    )
    return {
        "brief": brief,
        "imported": imported,
        "edited": edited,
        "styled": styled,
        "rendition": rendition,
        "reference": reference,
        "lora": lora,
        "photo": photo,
        "stock": stock,
        "nc": lora_terms,
    }


def test_a_version_inherits_every_licence_three_steps_up_in_one_query(graph, django_assert_num_queries):
    with django_assert_num_queries(1):
        inherited = version_rights(version=graph["rendition"])
    by_name = {item.licence.name: item.sources for item in inherited}
    assert by_name == {
        "Agency photo licence": [
            {"kind": "version", "id": graph["imported"].pk, "name": f"imported v{graph['imported'].pk}"}
        ],
        "CC BY-NC 4.0": [{"kind": "model_weights", "id": graph["lora"].pk, "name": "film grain LoRA"}],
        "Stock standard": [{"kind": "reference", "id": graph["reference"].pk, "name": "stock beach"}],
    }
    assert {item.licence.name for item in version_rights(version=graph["edited"])} == {
        "Agency photo licence",
        "Stock standard",
    }
    assert {item.licence.name for item in version_rights(version=graph["imported"])} == {"Agency photo licence"}


def test_what_a_licence_forbids_names_the_licence_and_its_way_in(graph):
    inherited = version_rights(version=graph["rendition"])
    problems = rights_problems(rights=inherited, brief=graph["brief"], on=date.today())
    assert [(p["licence"], p["problem"]) for p in problems] == [(graph["nc"].pk, "non_commercial")]
    assert "model weights film grain LoRA" in problems[0]["detail"]
    later = date.today() + timedelta(days=401)
    assert {
        (p["licence"], p["problem"]) for p in rights_problems(rights=inherited, brief=graph["brief"], on=later)
    } == {(graph["nc"].pk, "non_commercial"), (graph["photo"].pk, "expired")}
    graph["brief"].commercial_use = False
    assert rights_problems(rights=inherited, brief=graph["brief"], on=date.today()) == []


def test_every_version_a_licence_reached_is_found_from_it(graph):
    assert set(versions_inheriting(licences=[graph["nc"].pk])) == {graph["styled"], graph["rendition"]}
    assert set(versions_inheriting(licences=[graph["stock"].pk])) == {
        graph["edited"],
        graph["styled"],
        graph["rendition"],
    }
    assert set(versions_inheriting(licences=[graph["photo"].pk, graph["nc"].pk])) == {
        graph["imported"],
        graph["edited"],
        graph["styled"],
        graph["rendition"],
    }


def test_licences_attach_to_imports_only_and_every_change_is_audited(graph):
    from assets.errors import ApplicationError

    with pytest.raises(ApplicationError, match="made in Seed"):
        licence_save(values={"name": "Wrong", "commercial_use": True, "versions": [graph["styled"]]})
    assert not Licence.objects.filter(name="Wrong").exists()
    licence_save(values={"expires_on": date(2030, 1, 1)}, licence=graph["nc"])
    kinds = list(
        AuditEvent.objects.filter(object_type="licence", object_id=graph["nc"].pk).values_list("kind", flat=True)
    )
    assert sorted(kinds) == ["licence.changed", "licence.created"]


def test_the_api_sets_licences_and_answers_a_versions_rights(graph):
    producer = member("paula", PRODUCER)
    api = api_as(producer)
    created = api.post(
        "/api/licences/",
        {
            "name": "CreativeML OpenRAIL-M",
            "spdx_id": "CreativeML-OpenRAIL-M",
            "commercial_use": True,
            "model_weights": [graph["lora"].pk],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    refused = api.post(
        "/api/licences/", {"name": "Bad", "commercial_use": True, "versions": [graph["styled"].pk]}, format="json"
    )
    assert refused.status_code == 400 and "made in Seed" in refused.json()["message"]
    changed = api.patch(f"/api/licences/{graph['nc'].pk}/", {"expires_on": "2020-01-01"}, format="json")
    assert changed.status_code == 200 and changed.json()["expires_on"] == "2020-01-01"
    rights = api.get(f"/api/versions/{graph['rendition'].pk}/rights/").json()
    assert {item["name"] for item in rights["licences"]} == {
        "Agency photo licence",
        "Stock standard",
        "CC BY-NC 4.0",
        "CreativeML OpenRAIL-M",
    }
    assert {p["problem"] for p in rights["problems"]} == {"non_commercial", "expired"}
    assert sorted(rights["attribution"]) == ["Beach © Stock Co.", "Film grain by Jo", "Photo: Agency X"]
    assert rights["reproducibility"] is None
    impact = api.get(f"/api/licences/{graph['nc'].pk}/impact/").json()
    assert impact["versions_total"] == 2
    client = member("cleo", CLIENT_REVIEWER, graph["brief"].campaign.client)
    assert api_as(client).get("/api/licences/").json()["results"] == []
    assert (
        api_as(client).post("/api/licences/", {"name": "x", "commercial_use": True}, format="json").status_code == 403
    )


def test_register_model_takes_a_licence_and_refuses_an_unknown_one_before_registering(db, tiny_files, capsys):
    roles_ensure()
    licence_save(values={"name": "CreativeML OpenRAIL-M", "spdx_id": "CreativeML-OpenRAIL-M", "commercial_use": True})
    with pytest.raises(CommandError, match="no licence 'CC-BY-SA-9'"):
        call_command(
            "register_model",
            str(tiny_files["lora_a"]),
            "--kind",
            "lora",
            "--name",
            "style A",
            "--licence",
            "CC-BY-SA-9",
        )
    assert not ModelWeights.objects.exists()
    call_command(
        "register_model",
        str(tiny_files["lora_a"]),
        "--kind",
        "lora",
        "--name",
        "style A",
        "--licence",
        "creativeml-openrail-m",
    )
    assert "licence: CreativeML OpenRAIL-M" in capsys.readouterr().out
    assert [licence.name for licence in ModelWeights.objects.get().licences.all()] == ["CreativeML OpenRAIL-M"]


def test_the_admin_shows_rights_and_every_delivery_a_licence_reaches(graph, client):
    producer = member("paula", PRODUCER)
    client.force_login(producer)
    page = client.get(f"/admin/assets/version/{graph['rendition'].pk}/change/").content.decode()
    assert "CC BY-NC 4.0" in page and "does not allow commercial use" in page and "Beach © Stock Co." in page
    assert "not checked yet" in page
    licence_page = client.get(f"/admin/assets/licence/{graph['nc'].pk}/change/").content.decode()
    assert "2</b> version(s)" in licence_page
    listing = client.get("/admin/assets/licence/?expiry=perpetual").content.decode()
    assert "Stock standard" in listing and "Agency photo licence" not in listing


def test_a_reproducibility_check_is_append_only(graph):
    check = ReproducibilityCheck.objects.create(
        version=graph["rendition"],
        verdict="bit_identical",
        environment_digest="a" * 64,
        trigger="manual",
        wall_seconds=1.0,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ReproducibilityCheck.objects.filter(pk=check.pk).update(verdict="drifted")
    assert Derivation.objects.count() == 4
