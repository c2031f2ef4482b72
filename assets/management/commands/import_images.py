import json
from contextlib import ExitStack
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from assets.errors import ApplicationError
from assets.models import Brief, Version
from assets.services.licences import licence_find
from assets.services.recipe_imports import images_import


class Command(BaseCommand):
    help = (
        "Import images made in AUTOMATIC1111, ComfyUI, InvokeAI, Fooocus or Midjourney into a brief, with the recipe "
        "their metadata holds, and retouches brought back, attached to the version they were made from (found from "
        "their C2PA manifest, XMP ids or pixels unless --parent or --standalone says); prints a report per file (a "
        "refused file does not stop the others)."
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
        choice = parser.add_mutually_exclusive_group()
        choice.add_argument("--parent", type=int, metavar="VERSION", help="every file was made from this version")
        choice.add_argument("--standalone", action="store_true", help="the files were made from nothing in Seed")

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
        parent = _parent_given(number=options["parent"], brief=brief)
        with ExitStack() as files:
            # The file's own name, never its path: names are labels, and a path is refused as one.
            sources = [File(files.enter_context(path.open("rb")), name=path.name) for path in options["paths"]]
            try:
                reports = images_import(
                    brief=brief,
                    sources=sources,
                    licences=licences,
                    parent=parent,
                    find_parent=parent is None and not options["standalone"],
                )
            except ApplicationError as exc:
                raise CommandError(exc.message) from exc
        if options["json"]:
            self.stdout.write(json.dumps(reports, indent=2))
        else:
            for report in reports:
                self.stdout.write(_line(report))
        if not any(report["imported"] for report in reports):
            raise CommandError(_refusal(reports))


def _parent_given(*, number: int | None, brief: Brief) -> Version | None:
    if number is None:
        return None
    # Never across clients: the parent is looked for among the brief's client's versions only.
    parent = Version.objects.filter(pk=number, brief__campaign__client=brief.campaign.client).first()
    if parent is None:
        raise CommandError(f"no version {number} of {brief.campaign.client}")
    return parent


def _refusal(reports: list[dict]) -> str:
    asked = [report for report in reports if report["code"] == "parent_unknown"]
    if not asked:
        return "no file was imported"
    named = sorted({f"v{c['version']}" for report in asked for c in report["candidates"]})
    return f"no file was imported: pass --parent VERSION (candidates: {', '.join(named) or 'none'}) or --standalone"


def _line(report: dict) -> str:
    if not report["imported"]:
        return f"{report['file']}: refused: {report['error']}"
    came = f", {report['parent_match']}" if report["parent_match"] else ""
    if report["claim_generator"]:
        came += f", C2PA claim by {report['claim_generator']}" + (f" ({report['edits']})" if report["edits"] else "")
    if report["generator"] is None:
        return f"{report['file']}: v{report['version']}{came}, no generator metadata (imported as a plain image)"
    missing = ", ".join(f"{m['role']} {m['name'] or m['hash']}" for m in report["missing"]) or "none"
    matched = ", ".join(f"{m['role']} {m['matched']['name']}" for m in report["matched"]) or "none"
    return (
        f"{report['file']}: v{report['version']}{came} from {report['generator']}; "
        f"recovered {', '.join(report['recovered'])}; "
        f"models matched: {matched}; missing: {missing}"
    )
