"""Real servers on loopback for the notification tests: SMTP (aiosmtpd) and an HTTP receiver for webhooks."""

from __future__ import annotations

import email
import email.policy
import http.server
import json
import threading
from dataclasses import dataclass, field

from config.localpg import free_port


class SmtpServer:
    """Accepts every message and keeps it, parsed, with its envelope."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.accepted = threading.Condition()
        server = self

        class Handler:
            async def handle_DATA(self, smtp, session, envelope):
                with server.accepted:
                    server.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
                    server.recipients.append(list(envelope.rcpt_tos))
                    server.accepted.notify_all()
                return "250 Message accepted for delivery"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def to(self, address: str) -> list[email.message.EmailMessage]:
        with self.accepted:  # the handler appends to both lists under this lock
            return [message for message, rcpt in zip(self.messages, self.recipients, strict=True) if address in rcpt]


@dataclass
class WebhookReceiver:
    """Answers with the next status in `statuses` (then 200) and records every request; a 3xx points at `location`."""

    statuses: list[int] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    location: str = ""

    def start(self) -> str:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body, "json": json.loads(body)})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if 300 <= status < 400 and receiver.location:
                    self.send_header("Location", receiver.location)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/seed"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
