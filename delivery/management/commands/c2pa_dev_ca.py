from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from delivery.keys import dev_ca_create


class Command(BaseCommand):
    help = "Make a local development CA and C2PA signer where the settings expect them (kept if present)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="replace existing keys (files signed before stop verifying as trusted)"
        )

    def handle(self, *args, **options):
        folder = Path(settings.SEED_C2PA_CERT).parent
        paths = dev_ca_create(folder=folder, force=options["force"])
        if Path(settings.SEED_C2PA_KEY) != paths["key"] or Path(settings.SEED_C2PA_TRUST_ANCHORS) != paths["root"]:
            self.stderr.write(
                f"note: SEED_C2PA_KEY or SEED_C2PA_TRUST_ANCHORS point elsewhere; the new files are in {folder}"
            )
        self.stdout.write(f"development C2PA signer in {folder} (trust anchor {paths['root'].name})")
