import json

from django.core.management.base import BaseCommand, CommandError

from assets.errors import ApplicationError
from assets.services.audit_checkpoints import audit_checkpoint_write


class Command(BaseCommand):
    help = (
        "Sign the audit chain's head (event count, newest hash, time) with the studio key into "
        "SEED_AUDIT_CHECKPOINT_DIR; audit_verify then detects events deleted after it. Scheduled daily."
    )

    def handle(self, *args, **options):
        try:
            checkpoint = audit_checkpoint_write()
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            json.dumps(
                {
                    "path": str(checkpoint.path),
                    "count": checkpoint.count,
                    "head_id": checkpoint.head_id,
                    "head_hash": checkpoint.head_hash,
                    "created_at": checkpoint.created_at,
                }
            )
        )
