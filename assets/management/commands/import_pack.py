import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from assets.errors import ApplicationError
from assets.services.packs import pack_import


class Command(BaseCommand):
    help = "Recreate a reproduction pack's lineage here; afterwards `reproduce` works on the imported version."

    def add_arguments(self, parser):
        parser.add_argument("pack", type=Path)

    def handle(self, *args, **options):
        if not options["pack"].is_file():
            raise CommandError(f"{options['pack']} is not a file")
        try:
            version = pack_import(path=options["pack"])
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            json.dumps(
                {
                    "version_id": version.pk,
                    "brief": version.brief.title,
                    "reproduce": f"manage.py reproduce {version.pk}",
                }
            )
        )
