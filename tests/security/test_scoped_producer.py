"""Gina produces for Borealis only: the holes a producer tied to one client found in Aurora's work, one test each.

Every test here failed before visibility became one policy per model (assets.access): each form, serializer field
and admin list had decided scoping by hand, and these had forgotten.
"""

from __future__ import annotations

import pytest
from django.test import Client as WebClient
from django.urls import reverse

from assets.models import Brief, Campaign, Client, ClientMembership, Reference, Version
from review.models import (
    Notification,
    ReviewRound,
    ShareLink,
    WebhookDelivery,
    WebhookEndpoint,
)
from review.roles import PRODUCER
from review.services.notifications import webhook_endpoint_create
from tests.factories import api_as, image_file, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def gina(cast):
    return member("gina", PRODUCER, cast["brief_b"].campaign.client)


def _admin(user) -> WebClient:
    browser = WebClient()
    browser.force_login(user)
    return browser


def test_gina_cannot_open_a_round_on_auroras_brief_and_invite_herself(cast, gina):
    browser = _admin(gina)
    form = browser.get(reverse("admin:review_reviewround_add")).content.decode()
    assert "Aurora" not in form and "A master" not in form and "Borealis hero" in form
    response = browser.post(
        reverse("admin:review_reviewround_add"),
        {
            "brief": cast["brief_a"].pk,
            "stage": "client",
            "title": "mine now",
            "round_versions": [cast["version_a"].pk],
            "guests": "gina@example.test",
        },
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not ReviewRound.objects.exists() and not ShareLink.objects.exists()


def test_gina_cannot_create_into_auroras_campaign_brief_or_lineage_through_the_api(cast, gina):
    api = api_as(gina)
    aurora_campaign = cast["brief_a"].campaign
    briefs = Brief.objects.count()
    response = api.post("/api/briefs/", {"campaign": aurora_campaign.pk, "title": "planted"}, format="json")
    assert response.status_code == 400 and "campaign" in response.json()["extra"]["fields"]
    assert (
        api.post("/api/campaigns/", {"client": aurora_campaign.client_id, "name": "planted"}, format="json").status_code
        == 400
    )
    response = api.post(
        "/api/references/", {"brief": cast["brief_a"].pk, "image": image_file("mood.png"), "title": "planted"}
    )
    assert response.status_code == 400 and "brief" in response.json()["extra"]["fields"]
    response = api.post(
        "/api/versions/import/",
        {
            "brief": cast["brief_b"].pk,
            "image": image_file("x.png", colour=(9, 9, 9)),
            "parents": [cast["version_a"].pk],
        },
    )
    assert response.status_code == 400 and "parents" in response.json()["extra"]["fields"]
    response = api.post("/api/versions/import-images/", {"brief": cast["brief_a"].pk, "files": [image_file("y.png")]})
    assert response.status_code == 400, response.content
    assert Brief.objects.count() == briefs and not Campaign.objects.filter(name="planted").exists()
    assert not Reference.objects.exists() and Version.objects.count() == 3
    # Her own client's work goes through as before.
    made = api.post(
        "/api/briefs/", {"campaign": cast["brief_b"].campaign_id, "title": "Borealis teaser"}, format="json"
    )
    assert made.status_code == 201, made.content


def test_gina_sees_only_her_clients_webhooks_and_never_a_secret(cast, gina, settings):
    aurora_client, borealis = cast["brief_a"].campaign.client, cast["brief_b"].campaign.client
    aurora_hook, _ = webhook_endpoint_create(url="https://hooks.aurora.example/seed", client=aurora_client)
    aurora_hook.save()
    studio_hook, _ = webhook_endpoint_create(url="https://hooks.studio.example/all", client=None)
    studio_hook.save()
    ours, _ = webhook_endpoint_create(url="https://hooks.borealis.example/seed", client=borealis)
    ours.save()
    browser = _admin(gina)
    listing = browser.get(reverse("admin:review_webhookendpoint_changelist")).content.decode()
    assert "hooks.borealis.example" in listing
    assert "hooks.aurora.example" not in listing and "hooks.studio.example" not in listing
    assert browser.get(reverse("admin:review_webhookendpoint_change", args=[aurora_hook.pk])).status_code == 404
    # A client-less endpoint hears every client: someone bound to one client may not make one.
    refused = browser.post(
        reverse("admin:review_webhookendpoint_add"), {"url": "https://hooks.gina.example/", "active": "on"}
    )
    assert refused.status_code == 200 and not WebhookEndpoint.objects.filter(url__contains="gina").exists()


def test_gina_cannot_add_anyone_to_her_client(cast, gina):
    borealis = cast["brief_b"].campaign.client
    browser = _admin(gina)
    page = browser.get(reverse("admin:assets_client_change", args=[borealis.pk])).content.decode()
    assert "alice" not in page and "dana" not in page
    browser.post(
        reverse("admin:assets_client_change", args=[borealis.pk]),
        {
            "name": borealis.name,
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-0-user": cast["alice"].pk,
            "memberships-0-client": borealis.pk,
        },
    )
    assert not ClientMembership.objects.filter(user=cast["alice"]).exists()
    assert api_as(gina).post("/api/clients/", {"name": "Gina's own"}, format="json").status_code == 403
    assert not Client.objects.filter(name="Gina's own").exists()


def test_gina_reads_the_outbox_and_the_webhook_log_of_her_client_only(cast, gina):
    from review.services.rounds import round_open

    aurora_client, borealis = cast["brief_a"].campaign.client, cast["brief_b"].campaign.client
    for brief, version, client in (
        (cast["brief_a"], cast["version_a"], aurora_client),
        (cast["brief_b"], cast["version_b"], borealis),
    ):
        review_round = round_open(brief=brief, versions=[version], stage="internal", opened_by=cast["alice"])
        Notification.objects.create(
            key=f"probe-{client.pk}",
            kind="invited",
            email=f"to@{client.name}.example",
            review_round=review_round,
            subject=f"{client.name} round",
            text="",
            state="held",
        )
        endpoint, _ = webhook_endpoint_create(url=f"https://hooks.{client.name.lower()}.example/", client=client)
        endpoint.save()
        WebhookDelivery.objects.create(key=f"probe-{client.pk}", endpoint=endpoint, kind="round_closed", payload={})
    browser = _admin(gina)
    for name in ("admin:review_notification_changelist", "admin:review_webhookdelivery_changelist"):
        response = browser.get(reverse(name))
        assert response.status_code == 200, name
        page = response.content.decode()
        assert "Borealis" in page or "borealis" in page, name
        assert "Aurora" not in page and "aurora" not in page, name
    for name in ("admin:assets_brief_add", "admin:delivery_focalpoint_add"):
        page = browser.get(reverse(name)).content.decode()
        assert "Aurora" not in page and "A master" not in page, name
