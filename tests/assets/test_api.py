import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from assets.services.prompts import prompt_template_create
from assets.services.versions import version_import
from tests.factories import chain, image_bytes, image_file, make_brief

pytestmark = pytest.mark.django_db


def test_anonymous_requests_are_refused():
    response = APIClient().get("/api/briefs/")
    assert response.status_code in (401, 403)
    assert "credentials" in response.json()["message"]


def test_token_auth(alice):
    token = APIClient().post("/api/auth/token/", {"username": "alice", "password": "alice-pass-123"}).json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/briefs/").status_code == 200


def test_brief_create_validates_palette_and_aspect(api):
    campaign = make_brief().campaign
    good = api.post(
        "/api/briefs/",
        {
            "campaign": campaign.pk,
            "title": "Vertical",
            "palette": ["#fe2c54"],
            "aspect": "9:16",
            "channels": ["tiktok"],
        },
        format="json",
    )
    assert good.status_code == 201, good.content
    assert good.json()["palette"] == ["#FE2C54"]
    assert good.json()["negative_prompt"] == "text, watermark, extra limbs, mushy face"
    bad = api.post(
        "/api/briefs/", {"campaign": campaign.pk, "title": "Bad", "palette": ["red"], "aspect": "tall"}, format="json"
    )
    assert bad.status_code == 400
    assert "palette" in bad.json()["message"] and "aspect" in bad.json()["message"]


def test_template_render_endpoint(api):
    brief = make_brief()
    created = api.post(
        "/api/templates/", {"brief": brief.pk, "name": "hero", "text": "{subject} with {camera action}"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["placeholders"] == ["subject", "camera action"]
    url = f"/api/templates/{created.json()['id']}/render/"
    missing = api.post(url, {"values": {"subject": "a can"}}, format="json")
    assert missing.status_code == 400 and "{camera action}" in missing.json()["message"]
    assert missing.json()["extra"]["missing"] == ["camera action"]
    rendered = api.post(url, {"values": {"subject": "a can", "camera action": "a pan"}}, format="json")
    assert rendered.status_code == 201 and rendered.json()["text"] == "a can with a pan"


def test_version_import_records_parents_and_lineage_endpoint(api):
    brief = make_brief()
    parent = version_import(brief=brief, source=image_file(colour=(10, 10, 10)))
    upload = io.BytesIO(image_bytes(colour=(20, 20, 20)))
    upload.name = "retouch.png"
    response = api.post(
        "/api/versions/import/",
        {"brief": brief.pk, "image": upload, "parents": [parent.pk], "note": "hands fixed"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    child = response.json()
    assert child["derivation"]["op"] == "import"
    lineage = api.get(f"/api/versions/{child['id']}/lineage/").json()
    assert {n["id"] for n in lineage["nodes"] if n["type"] == "version"} == {
        f"version:{parent.pk}",
        f"version:{child['id']}",
    }
    derivation = next(n for n in lineage["nodes"] if n["type"] == "derivation" and n["params"].get("note"))
    assert derivation["params"] == {"source": "retouch.png", "note": "hands fixed"}
    assert {
        "from": f"version:{parent.pk}",
        "to": derivation["id"],
        "type": "used",
        "role": "parent",
        "position": 0,
        "weight": None,
    } in lineage["edges"]
    descendants = api.get(f"/api/versions/{parent.pk}/descendants/").json()
    assert [v["id"] for v in descendants] == [child["id"]]


def test_import_refuses_a_parent_from_another_client(api):
    mine, theirs = make_brief(), make_brief(client_name="Charlie Client", title="Theirs")
    foreign = version_import(brief=theirs, source=image_file(colour=(1, 1, 1)))
    upload = io.BytesIO(image_bytes(colour=(2, 2, 2)))
    upload.name = "x.png"
    response = api.post(
        "/api/versions/import/", {"brief": mine.pk, "image": upload, "parents": [foreign.pk]}, format="multipart"
    )
    assert response.status_code == 400 and "another client" in response.json()["message"]
    assert mine.versions.count() == 0


def _count(api, url):
    with CaptureQueriesContext(connection) as queries:
        response = api.get(url)
    assert response.status_code == 200, response.content
    return len(queries)


@pytest.mark.parametrize(
    "endpoint",
    [
        "briefs",
        "references",
        "templates",
        "prompts",
        "model-weights",
        "versions",
        "derivations",
        "clients",
        "campaigns",
    ],
)
def test_list_endpoints_have_a_constant_query_count(api, endpoint):
    brief = make_brief()
    template = prompt_template_create(brief=brief, name="t", text="{x}")

    def grow(n):
        from assets.services.briefs import reference_create
        from assets.services.prompts import prompt_render

        for i in range(n):
            reference_create(brief=brief, source=image_file(colour=(i, n, 7)))
            prompt_render(template=template, values={"x": f"{n}-{i}"})
            version_import(brief=brief, source=image_file(colour=(n, i, 9)))

    grow(2)
    _count(
        api, f"/api/{endpoint}/"
    )  # the caller's own lookups (their clients) are made once per user, as Django's permissions are
    few = _count(api, f"/api/{endpoint}/")
    grow(12)
    chain(brief=brief, length=5)
    assert _count(api, f"/api/{endpoint}/") == few


def test_lineage_endpoint_query_count_does_not_grow_with_depth(api):
    brief = make_brief()
    short, long = chain(brief=brief, length=3), chain(brief=brief, length=60)
    _count(api, f"/api/versions/{short[-1].pk}/lineage/")
    assert _count(api, f"/api/versions/{short[-1].pk}/lineage/") == _count(api, f"/api/versions/{long[-1].pk}/lineage/")


def test_openapi_schema_is_valid_and_docs_need_no_cdn(api):
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    validate_schema(SchemaGenerator().get_schema(request=None, public=True))
    assert api.get("/api/schema/").status_code == 200
    docs = api.get("/api/docs/")
    html = docs.content.decode()
    assert docs.status_code == 200 and "drf_spectacular_sidecar" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()


def test_the_schema_documents_error_answers_in_the_one_error_shape(api):
    schema = api.get("/api/schema/?format=json").json()
    assert schema["components"]["schemas"]["Error"]["required"] == ["message", "extra"]
    listing = schema["paths"]["/api/versions/"]["get"]["responses"]
    detail = schema["paths"]["/api/versions/{id}/"]["get"]["responses"]
    upload = schema["paths"]["/api/references/"]["post"]["responses"]
    assert {"401", "403", "503", "404"} <= set(listing) and {"404", "401"} <= set(detail) and "413" not in detail
    assert {"400", "404", "413", "415"} <= set(upload) and "201" in upload
    assert upload["413"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_an_unknown_api_route_answers_json_and_other_pages_stay_html(api):
    missing = api.get("/api/no-such-route/")
    assert missing.status_code == 404 and missing.json() == {
        "message": "no API route matches /api/no-such-route/",
        "extra": {"code": "not_found"},
    }
    page = api.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
