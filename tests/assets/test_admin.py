import re

import pytest
from django.test import Client
from django.urls import reverse

from assets.models import Reference, Used
from assets.services.prompts import prompt_render, prompt_template_create
from assets.services.versions import version_import
from tests.factories import image_bytes, image_file, make_brief

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(alice):
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def graph():
    brief = make_brief()
    template = prompt_template_create(brief=brief, name="hero", text="{subject} at dusk")
    prompt = prompt_render(template=template, values={"subject": "a can"})
    parent = version_import(brief=brief, source=image_file(colour=(10, 20, 30)))
    Used.objects.create(derivation=parent.generated_by.derivation, role=Used.Role.PROMPT, prompt=prompt)
    child = version_import(brief=brief, source=image_file(colour=(40, 50, 60)), parents=[parent])
    return {"brief": brief, "parent": parent, "child": child, "template": template}


@pytest.mark.parametrize(
    "model",
    [
        "client",
        "campaign",
        "brief",
        "reference",
        "prompttemplate",
        "prompt",
        "modelweights",
        "version",
        "derivation",
        "blob",
        "used",
        "generated",
    ],
)
def test_every_changelist_renders(browser, graph, model):
    response = browser.get(reverse(f"admin:assets_{model}_changelist"))
    assert response.status_code == 200


def test_version_page_shows_a_lineage_picture_with_thumbnails_and_side_nodes(browser, graph):
    child, parent = graph["child"], graph["parent"]
    html = browser.get(reverse("admin:assets_version_change", args=[child.pk])).content.decode()
    svg = re.search(r"<svg[^>]*seed-lineage.*?</svg>", html, re.S).group(0)
    assert f"v{parent.pk} · 32×32" in svg and f"v{child.pk} · 32×32" in svg
    assert reverse("blob-thumbnail", args=[parent.blob_id, 96]) in svg
    assert "Import of an external file #" in svg
    assert "Prompt: a can at dusk" in svg
    assert "<script" not in svg and "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_thumbnails_are_served_to_signed_in_users_only(browser, graph):
    url = reverse("blob-thumbnail", args=[graph["child"].blob_id, 96])
    assert Client().get(url).status_code == 302
    response = browser.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"


def test_brief_page_shows_mood_board_and_templates(browser, graph):
    html = browser.get(reverse("admin:assets_brief_change", args=[graph["brief"].pk])).content.decode()
    assert "{subject} at dusk" in html and "#FE2C54" in html


def test_reference_upload_through_admin_refuses_bad_files_and_accepts_good(browser, graph):
    url = reverse("admin:assets_reference_add")
    bad = browser.post(url, {"brief": graph["brief"].pk, "title": "x", "image": _upload(b"not an image", "x.png")})
    assert bad.status_code == 200 and "not an image in an accepted format" in bad.content.decode()
    assert not Reference.objects.exists()
    good = browser.post(url, {"brief": graph["brief"].pk, "title": "sunset", "image": _upload(image_bytes(), "s.png")})
    assert good.status_code == 302
    assert Reference.objects.get().title == "sunset"


def _upload(data, name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)
