"""The demo as a studio with a real mail server runs it (EMAIL_HOST set): the same flow as with the outbox, the invited
guest deciding through the share link their invitation e-mail carries."""

import hashlib
import json
import re

import pytest
from django.core.management import call_command

from review.demo import GUEST_EMAIL
from review.models import Decision, ReviewRound, ShareLink
from tests.review.notify_servers import SmtpServer


@pytest.fixture
def smtp(settings):
    server = SmtpServer()
    server.controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", server.port, False
    settings.SEED_BASE_URL = "https://seed.studio.example"
    yield server
    server.controller.stop()


@pytest.mark.django_db(transaction=True)
def test_the_invited_guest_approves_through_the_link_their_mail_carries(capsys, smtp, media_root):
    call_command("demo", "--no-serve", "--json")
    summary = json.loads(capsys.readouterr().out)
    review = summary["review"]

    [invitation] = smtp.to(GUEST_EMAIL)
    text = invitation.get_body(preferencelist=("plain",)).get_content()
    token = re.search(r"https://seed\.studio\.example/review/s/([\w-]+)/", text).group(1)
    mailed = ShareLink.objects.get(token_hash=hashlib.sha256(token.encode()).hexdigest())
    assert mailed.pk == review["share_link"] and mailed.invitation.first_viewed_at is not None
    assert review["share_url"] is None  # the address went to the guest's mailbox only

    client_round = ReviewRound.objects.get(pk=review["rounds"][-1])
    assert client_round.stage == "client" and client_round.status == "closed"
    guest = Decision.objects.get(review_round=client_round, share_link__isnull=False)
    assert guest.share_link_id == mailed.pk and guest.verdict == "approve"
    approval = client_round.approvals.get()
    assert approval.final and approval.version_id == review["approved_master"]

    sent = summary["notifications"]
    assert sent["failed"] == 0 and sent["smtp"] == f"127.0.0.1:{smtp.port}" and sent["outbox"] is None
    assert len(smtp.messages) == sent["sent"] and not (media_root / "outbox").exists()
    assert summary["delivery"]["verify"]["match"] == "exact"
