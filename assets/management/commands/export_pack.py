import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from assets.errors import ApplicationError
from assets.models import Version
from assets.services.packs import pack_export


class Command(BaseCommand):
    help = (
        "Write one archive with a version's whole chain "
        "(recipes, prompts, references, edits, model sha256s, fingerprints)."
    )

    def add_arguments(self, parser):
        parser.add_argument("version_id", type=int)
        parser.add_argument("--output", type=Path, help="archive path (default: seed-pack-v<ID>.zip here)")
        parser.add_argument(
            "--with-weights", action="store_true", help="include the model files, so another install needs nothing else"
        )

    def handle(self, *args, **options):
        version = Version.objects.filter(pk=options["version_id"]).select_related("brief__campaign__client").first()
        if version is None:
            raise CommandError(f"version {options['version_id']} does not exist")
        output = options["output"] or Path(f"seed-pack-v{version.pk}.zip")
        if output.exists():
            raise CommandError(f"{output} exists; packs are never overwritten")
        if not output.parent.is_dir():
            raise CommandError(f"{output.parent} is not a folder")
        try:
            manifest = pack_export(version=version, path=output, with_weights=options["with_weights"])
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            json.dumps(
                {
                    "pack": str(output),
                    "versions": len(manifest["versions"]),
                    "derivations": len(manifest["derivations"]),
                    "blobs": len(manifest["blobs"]),
                    "weights": [w["name"] for w in manifest["weights"]],
                    "with_weights": options["with_weights"],
                }
            )
        )
