import json

from django.core.management.base import BaseCommand, CommandError

from assets.services.storage_verify import storage_verify


class Command(BaseCommand):
    help = "Re-hash every stored blob and report missing files, content that no longer matches its sha256, and orphans."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the report as one JSON object")

    def handle(self, *args, **options):
        report = storage_verify()
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self.stdout.write(f"checked {report.checked} blob(s)")
            for sha256 in report.missing:
                self.stdout.write(self.style.ERROR(f"MISSING  {sha256}"))
            for item in report.mismatched:
                self.stdout.write(self.style.ERROR(f"MISMATCH {item['sha256']} now hashes to {item['actual']}"))
            for name in report.orphans:
                self.stdout.write(self.style.WARNING(f"ORPHAN   {name} (a file with no blob row)"))
        if not report.ok:
            raise CommandError(
                f"storage verification failed: {len(report.missing)} missing, {len(report.mismatched)} mismatched"
            )
        if not options["json"]:
            self.stdout.write(self.style.SUCCESS("all blobs match their sha256"))
