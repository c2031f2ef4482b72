"""Webhooks cannot be turned on the studio's own network: http(s) only, public addresses only unless allowed, the
address checked is the one called, no redirect followed, a short reason in the log; secrets sealed at rest."""

import hashlib
import hmac
import ipaddress
import re

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assets.errors import ApplicationError
from config.localpg import free_port
from review.models import WebhookDelivery, WebhookEndpoint
from review.services.notifications import Message, webhook_endpoint_create, webhooks_due, webhooks_notify
from review.webhook_security import address_permitted, webhook_secret_open
from tests.review.notify_servers import WebhookReceiver

pytestmark = pytest.mark.django_db

REFUSED = "refused: the webhook host is a loopback, private"


@pytest.fixture
def servers():
    started = []

    def start(**kwargs) -> WebhookReceiver:
        receiver = WebhookReceiver(**kwargs)
        receiver.url = receiver.start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


def _announce(run_jobs, key: str = "event") -> WebhookDelivery:
    with run_jobs():
        webhooks_notify(
            message=Message(kind="round_closed", subject="Round closed", lines=["done"]), key=key, client_id=None
        )
    return WebhookDelivery.objects.get(key__startswith=f"{key}:")


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
        "2002:7f00:1::1",
    ],
)
def test_non_public_addresses_are_refused_ipv4_ipv6_and_ipv4_inside_ipv6(settings, address):
    settings.SEED_WEBHOOK_ALLOWED_NETWORKS = []
    assert not address_permitted(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111"])
def test_public_addresses_are_permitted(settings, address):
    settings.SEED_WEBHOOK_ALLOWED_NETWORKS = []
    assert address_permitted(ipaddress.ip_address(address))


def test_the_allow_list_opens_one_network_and_covers_its_ipv4_mapped_form(settings):
    settings.SEED_WEBHOOK_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    assert address_permitted(ipaddress.ip_address("10.20.3.4"))
    assert address_permitted(ipaddress.ip_address("::ffff:10.20.3.4"))
    assert not address_permitted(ipaddress.ip_address("10.21.0.1"))
    assert not address_permitted(ipaddress.ip_address("127.0.0.1"))


@pytest.mark.parametrize(
    "url, phrase",
    [
        ("file:///etc/passwd", "must start with http:// or https://, not file://"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "not gopher://"),
        ("ftp://example.com/x", "not ftp://"),
        ("http://user:pw@example.com/", "may not carry a user name or password"),
        ("http:///no-host", "has no host"),
        ("http://127.0.0.1:8080/hook", REFUSED),
        ("http://[::ffff:169.254.169.254]/latest/meta-data", REFUSED),
    ],
)
def test_a_bad_url_is_refused_on_save_by_the_service_the_model_and_the_admin(cast, settings, url, phrase):
    settings.SEED_WEBHOOK_ALLOWED_NETWORKS = []
    with pytest.raises(ApplicationError, match=re.escape(phrase)):
        webhook_endpoint_create(url=url)
    admin = Client()
    admin.force_login(cast["alice"])
    page = admin.post(reverse("admin:review_webhookendpoint_add"), {"url": url, "active": "on"})
    assert page.status_code == 200 and not WebhookEndpoint.objects.exists()
    assert phrase.replace("'", "&#x27;") in page.content.decode() or "Enter a valid URL" in page.content.decode()


def test_a_name_that_resolves_to_loopback_is_refused_at_send_without_the_allow_list(settings, servers, run_jobs):
    settings.SEED_WEBHOOK_ALLOWED_NETWORKS = []
    receiver = servers()
    port = receiver.server.server_address[1]
    webhook_endpoint_create(url=f"http://localhost:{port}/hooks/seed")  # a name: judged at each send
    delivery = _announce(run_jobs)
    assert receiver.requests == []
    assert delivery.state == "queued" and delivery.error.startswith(REFUSED) and delivery.response_status is None

    settings.SEED_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    with run_jobs():
        assert webhooks_due() == 1
    delivery.refresh_from_db()
    assert delivery.state == "succeeded" and len(receiver.requests) == 1


def test_an_endpoint_saved_while_allowed_is_refused_once_the_allow_list_drops_it(settings, servers, run_jobs):
    settings.SEED_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    receiver = servers()
    webhook_endpoint_create(url=receiver.url)
    settings.SEED_WEBHOOK_ALLOWED_NETWORKS = []
    delivery = _announce(run_jobs)
    assert receiver.requests == [] and delivery.error.startswith(REFUSED)


def test_a_redirect_is_not_followed_and_counts_as_a_failed_delivery(settings, servers, run_jobs):
    settings.SEED_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    target = servers()
    redirector = servers(statuses=[302], location=target.url)
    webhook_endpoint_create(url=redirector.url)
    delivery = _announce(run_jobs)
    assert len(redirector.requests) == 1 and target.requests == []
    assert delivery.state == "queued" and delivery.response_status == 302
    assert delivery.error == "HTTP 302: redirects are not followed"
    assert WebhookEndpoint.objects.get().consecutive_failures == 1


def test_the_log_keeps_a_short_reason_not_the_socket_error(settings, run_jobs):
    settings.SEED_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    webhook_endpoint_create(url=f"http://127.0.0.1:{free_port()}/hooks/seed")  # nobody listens there
    delivery = _announce(run_jobs)
    assert delivery.error == "connection refused"


def test_the_secret_is_sealed_at_rest_shown_once_and_rotated_in_the_admin(cast, settings, servers, run_jobs):
    settings.SEED_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    receiver = servers()
    admin = Client()
    admin.force_login(cast["alice"])
    added = admin.post(reverse("admin:review_webhookendpoint_add"), {"url": receiver.url, "active": "on"}, follow=True)
    [secret] = re.findall(r"shown only once: <code>([^<]+)</code>", added.content.decode())
    endpoint = WebhookEndpoint.objects.get()
    with connection.cursor() as cursor:
        cursor.execute("SELECT sealed_secret FROM review_webhookendpoint")
        [(stored,)] = cursor.fetchall()
    assert secret not in stored and webhook_secret_open(sealed=stored) == secret
    change = reverse("admin:review_webhookendpoint_change", args=[endpoint.pk])
    for page in (admin.get(change), admin.get(reverse("admin:review_webhookendpoint_changelist"))):
        assert page.status_code == 200 and secret not in page.content.decode() and stored not in page.content.decode()
    assert "••••" in admin.get(change).content.decode()

    rotated = admin.post(
        reverse("admin:review_webhookendpoint_changelist"),
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
        follow=True,
    )
    [new_secret] = re.findall(r"shown only once: <code>([^<]+)</code>", rotated.content.decode())
    assert new_secret != secret and secret not in rotated.content.decode()
    _announce(run_jobs)
    [request] = receiver.requests
    headers = request["headers"]
    signed = hmac.new(
        new_secret.encode(), headers["X-Seed-Timestamp"].encode() + b"." + request["body"], hashlib.sha256
    )
    assert headers["X-Seed-Signature"] == f"sha256={signed.hexdigest()}"


def test_the_migration_seals_secrets_stored_in_plain_text(settings):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("review.migrations.0007_webhook_secret_sealed")
    settings.SEED_WEBHOOK_ALLOWED_NETWORKS = []
    endpoint = WebhookEndpoint.objects.create(url="https://hooks.example.com/seed", sealed_secret="plain-old-secret")
    migration.secrets_seal(apps, None)
    endpoint.refresh_from_db()
    assert endpoint.sealed_secret != "plain-old-secret"
    assert webhook_secret_open(sealed=endpoint.sealed_secret) == "plain-old-secret"
