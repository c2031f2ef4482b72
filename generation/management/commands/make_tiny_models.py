import json
import shutil
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from assets.errors import ApplicationError
from generation.services.models import tiny_models_register


class Command(BaseCommand):
    help = "Write tiny random-weight models (SD-architecture base, two LoRAs, a ControlNet) and register them."

    def add_arguments(self, parser):
        parser.add_argument("--keep", type=Path, help="also keep the written files in this folder")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        folder = options["keep"] or Path(tempfile.mkdtemp(prefix="seed-tiny-"))
        try:
            registered = tiny_models_register(folder=folder)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        finally:
            if options["keep"] is None:
                shutil.rmtree(folder, ignore_errors=True)
        summary = {
            key: {"id": weights.pk, "sha256": weights.sha256, "name": weights.name}
            for key, weights in registered.items()
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
        else:
            for key, item in summary.items():
                self.stdout.write(f"{key:<11} #{item['id']} {item['name']} sha256 {item['sha256']}")
