import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from assets.errors import ApplicationError
from delivery.selectors import file_verify


class Command(BaseCommand):
    help = (
        "Say whether a file's C2PA manifest is trusted and which version and delivery it is, "
        "even if stripped or re-encoded."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        if path.stat().st_size > settings.SEED_MAX_UPLOAD_BYTES:
            raise CommandError(f"{path} is {path.stat().st_size} bytes; the limit is {settings.SEED_MAX_UPLOAD_BYTES}")
        try:
            result = file_verify(data=path.read_bytes(), name=path.name)
        except ApplicationError as exc:
            raise CommandError(f"{path}: {exc.message}") from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
        else:
            self._report(path, result)
        if result.manifest == "invalid":
            # Like a signature check, a failed verification must fail scripts that rely on the exit status.
            raise CommandError(f"{path.name}: the C2PA manifest does not validate ({', '.join(result.manifest_codes)})")
        if result.manifest == "unverifiable":
            raise CommandError(f"{path.name}: trust cannot be decided: {', '.join(result.manifest_codes)}")

    def _report(self, path, result):
        self.stdout.write(
            f"{path.name}: manifest {result.manifest}"
            + (f" ({', '.join(result.manifest_codes)})" if result.manifest_codes else "")
        )
        if result.match == "none":
            self.stdout.write("  not found in the lineage (no file with these bytes, nothing that looks like it)")
        else:
            self.stdout.write(
                f"  {result.match} match: version {result.version_id}"
                + (f", distance {result.distance} bits" if result.match == "perceptual" else "")
            )
        if result.delivery_id:
            self.stdout.write(
                f"  delivery {result.delivery_id}"
                + (f", preset {result.preset}, delivered as {result.file_name}" if result.preset else "")
            )
        if result.approval_statement:
            self.stdout.write(f"  {result.approval_statement}")
