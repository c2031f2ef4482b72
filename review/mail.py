"""Where mail goes without an SMTP server: one .eml file per message in SEED_OUTBOX_DIR, written whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend


class OutboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        folder = Path(settings.SEED_OUTBOX_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        written = 0
        for message in email_messages:
            data = message.message().as_bytes(linesep="\r\n")
            message_id = (
                message.extra_headers.get("Message-ID", "").strip("<>").split("@")[0] or f"message-{id(message)}"
            )
            fd, temp = tempfile.mkstemp(dir=folder, prefix=".incoming-", suffix=".eml")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, folder / f"{message_id}.eml")
            written += 1
        return written
