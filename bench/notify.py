"""From a decision's commit to the SMTP server accepting the e-mail it causes, through a real worker.

Starts an SMTP server on loopback (aiosmtpd) and a django-q2 worker with its default poll, records 20
decisions that each request changes (each makes one e-mail to the producer), and measures per message the
delay from the decision's commit to the server's acceptance. Then counts the queries one notification
costs: making it (inside the decision) and sending it (the worker's task, run here in-process).

    python -m bench.notify [--messages 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time

from bench._django import REPO, django_on_postgres
from bench._result import result_print
from config.localpg import free_port


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (254, 44, 84)).save(buffer, format="PNG")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20)
    args = parser.parse_args()
    from aiosmtpd.controller import Controller

    accepted: dict[str, float] = {}
    arrived = threading.Condition()

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            with arrived:
                subject = next(
                    (
                        line
                        for line in envelope.content.decode(errors="replace").splitlines()
                        if line.startswith("Subject: ")
                    ),
                    "",
                )
                accepted[subject] = time.time()
                arrived.notify_all()
            return "250 OK"

    port = free_port()
    smtp = Controller(Handler(), hostname="127.0.0.1", port=port)
    smtp.start()
    os.environ.update(EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(port), SEED_REMINDER_LEAD_HOURS="0")
    worker = None
    try:
        with django_on_postgres():
            from django.contrib.auth import get_user_model
            from django.contrib.auth.models import Group
            from django.core.files.base import ContentFile
            from django.db import connection, transaction
            from django.test.utils import CaptureQueriesContext

            from assets.services.briefs import brief_create, campaign_create, client_create
            from assets.services.versions import version_import
            from review.models import Notification, ReviewPolicy
            from review.roles import INTERNAL_REVIEWER, PRODUCER, roles_ensure
            from review.services.notifications import Message, notification_send, notify_user
            from review.services.rounds import decision_record, round_open

            roles_ensure()
            users = get_user_model().objects
            producer = users.create_user("producer", email="producer@bench.example", is_staff=True)
            producer.groups.add(Group.objects.get(name=PRODUCER))
            reviewers = []
            for index in range(args.messages):
                reviewer = users.create_user(f"reviewer{index}", email=f"r{index}@bench.example", is_staff=True)
                reviewer.groups.add(Group.objects.get(name=INTERNAL_REVIEWER))
                reviewers.append(reviewer)
            brief = brief_create(
                campaign=campaign_create(client=client_create(name="Bench"), name="Notify"), title="Notify"
            )
            ReviewPolicy.objects.create(brief=brief, automate_stages=False)
            version = version_import(brief=brief, source=ContentFile(_png(), name="v.png"))
            review_round = round_open(
                brief=brief, versions=[version], stage="internal", opened_by=producer, reviewers=reviewers
            )

            env = {**os.environ, "PYTHONPATH": str(REPO)}
            worker = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            ready = threading.Event()

            def follow():
                for line in worker.stdout:
                    if "worker ready" in line:
                        ready.set()

            threading.Thread(target=follow, daemon=True).start()
            if not ready.wait(300):
                raise SystemExit("the worker did not start")
            with arrived:
                arrived.wait_for(lambda: len(accepted) >= args.messages, timeout=120)  # the invitations go first
            accepted.clear()

            committed: dict[str, float] = {}
            for reviewer in reviewers:
                with transaction.atomic():
                    decision = decision_record(
                        review_round=review_round,
                        version=version,
                        verdict="changes_requested",
                        reviewer=reviewer,
                        comment="tighten the crop",
                    )
                committed[f"Subject: {decision.author_name} changes requested: v{version.pk}, Notify round 1"] = (
                    time.time()
                )
                time.sleep(0.5)  # one at a time: each delay is the worker's alone
            with arrived:
                arrived.wait_for(lambda: all(subject in accepted for subject in committed), timeout=120)
            delays = [accepted[subject] - at for subject, at in committed.items() if subject in accepted]
            sent = Notification.objects.filter(kind="changes_requested", state="succeeded").count()
            worker.terminate()
            worker.wait(30)
            with CaptureQueriesContext(connection) as making:
                made = notify_user(
                    user=producer,
                    key="bench:queries",
                    message=Message(
                        kind="changes_requested",
                        subject="bench",
                        lines=["one line"],
                        review_round=review_round,
                        images=[version.blob_id],
                    ),
                )
            with CaptureQueriesContext(connection) as sending:
                assert notification_send(notification_id=made.pk) == "succeeded"
            print(
                f"{len(delays)} of {len(committed)} e-mails accepted by the SMTP server; worker poll "
                f"{os.environ.get('SEED_Q_POLL', 'default')}"
            )
            print(
                f"  commit → SMTP accepted: median {statistics.median(delays) * 1000:.0f} ms, "
                f"max {max(delays) * 1000:.0f} ms"
            )
            print(
                f"  queries per notification: {len(making)} to make it (in the event's transaction), "
                f"{len(sending)} to send and record it"
            )
            result_print(
                name="notify",
                ratio=statistics.median(delays),
                meaning="seconds from a decision's commit to SMTP acceptance, median",
                target="<= 2 s",
                met=statistics.median(delays) <= 2 and sent == len(committed),
                details=f"{len(delays)} messages, max {max(delays):.2f} s, {sent} recorded sent, "
                f"queries {len(making)} to make + {len(sending)} to send",
            )
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        smtp.stop()


if __name__ == "__main__":
    main()
