import json

from django.core.management.base import BaseCommand, CommandError

from assets.services.audit import audit_chain_verify


class Command(BaseCommand):
    help = (
        "Recompute the audit trail's hash chain, hold it against the newest signed checkpoint, and report the "
        "first event that was altered or removed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        report = audit_chain_verify()
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "ok": report.ok,
                        "checked": report.checked,
                        "first_broken": report.first_broken,
                        "reason": report.reason,
                        "checkpoint": report.checkpoint,
                    }
                )
            )
        if not report.ok:
            raise CommandError(f"audit chain broken at event {report.first_broken}: {report.reason}")
        if not options["json"]:
            held = (
                f", held against checkpoint {report.checkpoint}"
                if report.checkpoint
                else " (no signed checkpoint yet: run manage.py audit_checkpoint)"
            )
            self.stdout.write(self.style.SUCCESS(f"audit chain intact: {report.checked} event(s){held}"))
