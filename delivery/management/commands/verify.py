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
        for ingredient in result.ingredients:
            if ingredient["state"] != "invalid":
                own = "its own manifest validates" if ingredient["state"] == "valid" else "no manifest of its own"
                title = ingredient["title"] or "untitled"
                self.stdout.write(f"  ingredient '{title}' ({ingredient['relationship']}): {own}")
        for statement in result.ingredient_statements:
            self.stdout.write(f"  {statement}")
        if result.match == "none":
            self.stdout.write("  not found in the lineage (no file with these bytes, nothing that looks like it)")
        else:
            how = {
                "exact": "its bytes",
                "soft_binding": f"its soft binding (ISCC content code {result.distance} bits off, aspect and size)",
                "perceptual": f"its looks (perceptual hash {result.distance} bits off)",
            }[result.match]
            self.stdout.write(f"  found by {how}: version {result.version_id}, lineage {result.lineage_page}")
        if result.repository_manifest:
            self.stdout.write(f"  manifest kept by Seed: {result.repository_manifest}")
        if result.alike:
            listed = ", ".join(f"v{version}" for version in result.alike)
            self.stdout.write(f"  the same picture was also delivered at another size: {listed} (cannot be told apart)")
        if result.delivery_id:
            self.stdout.write(
                f"  delivery {result.delivery_id}"
                + (f", preset {result.preset}, delivered as {result.file_name}" if result.preset else "")
            )
        if result.approval_statement:
            self.stdout.write(f"  {result.approval_statement}")
        self.stdout.write(f"  {_marks_line(result.marks)}")


def _marks_line(marks: dict) -> str:
    """The marks the EU AI Act asks of AI media, in one line."""
    label = marks["visible_label"]
    shown = f"{label['text']!r} ({label['placement'].replace('_', ' ')})" if label else "none recorded"
    return (
        f"AI marks: C2PA manifest {marks['c2pa_manifest']}, "
        f"soft binding {'present' if marks['soft_binding'] else 'absent'}, "
        f"IPTC AI fields {', '.join(marks['iptc_ai']) or 'none'}, visible label {shown}"
    )
