import json
from contextlib import ExitStack
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from assets.errors import ApplicationError
from assets.models import Brief
from assets.services.licences import licence_find
from assets.services.recipe_imports import images_import


class Command(BaseCommand):
    help = (
        "Import images made in AUTOMATIC1111, ComfyUI, InvokeAI or Fooocus into a brief, with the recipe their "
        "metadata holds; prints a report per file (a refused file does not stop the others)."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--brief", required=True, type=int)
        parser.add_argument(
            "--licence",
            action="append",
            default=[],
            metavar="NAME_OR_SPDX",
            help="a licence (its name or SPDX id) that covers every imported file; repeatable",
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        brief = Brief.objects.filter(pk=options["brief"]).first()
        if brief is None:
            raise CommandError(f"no brief {options['brief']}")
        missing = [str(path) for path in options["paths"] if not path.is_file()]
        if missing:
            raise CommandError(f"not a file: {', '.join(missing)}")
        try:
            licences = [licence_find(term=term) for term in options["licence"]]
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        with ExitStack() as files:
            # The file's own name, never its path: names are labels, and a path is refused as one.
            sources = [File(files.enter_context(path.open("rb")), name=path.name) for path in options["paths"]]
            try:
                reports = images_import(brief=brief, sources=sources, licences=licences)
            except ApplicationError as exc:
                raise CommandError(exc.message) from exc
        if options["json"]:
            self.stdout.write(json.dumps(reports, indent=2))
        else:
            for report in reports:
                self.stdout.write(_line(report))
        if not any(report["imported"] for report in reports):
            raise CommandError("no file was imported")


def _line(report: dict) -> str:
    if not report["imported"]:
        return f"{report['file']}: refused: {report['error']}"
    if report["generator"] is None:
        return f"{report['file']}: v{report['version']}, no generator metadata (imported as a plain image)"
    missing = ", ".join(f"{m['role']} {m['name'] or m['hash']}" for m in report["missing"]) or "none"
    matched = ", ".join(f"{m['role']} {m['matched']['name']}" for m in report["matched"]) or "none"
    return (
        f"{report['file']}: v{report['version']} from {report['generator']}; "
        f"recovered {', '.join(report['recovered'])}; "
        f"models matched: {matched}; missing: {missing}"
    )
