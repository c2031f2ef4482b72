import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from assets.errors import ApplicationError
from assets.models import ModelWeights
from assets.services.licences import licence_find, licences_attach
from assets.services.weights import model_weights_register


class Command(BaseCommand):
    help = (
        "Hash a local model file or diffusers folder, store it content-addressed "
        "and register it (idempotent by sha256)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--kind", required=True, choices=ModelWeights.Kind.values)
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--architecture", choices=ModelWeights.Architecture.values, help="detected from the file when left out"
        )
        parser.add_argument("--source-name", default="", help="where it came from, e.g. a model page or vendor")
        parser.add_argument("--source-version", default="")
        parser.add_argument(
            "--config",
            type=Path,
            help="for a single-file checkpoint: its diffusers config folder, stored beside it (no hub needed)",
        )
        parser.add_argument(
            "--scale",
            type=int,
            choices=(2, 4),
            help="for an upscaler that is not a safetensors file (e.g. .pth): its factor",
        )
        parser.add_argument(
            "--licence",
            action="append",
            default=[],
            metavar="NAME_OR_SPDX",
            help="the licence the weights come under (its name or SPDX id, e.g. CreativeML-OpenRAIL-M); "
            "repeatable; versions made with them inherit it",
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        try:
            # Looked up first: an unknown licence must not leave the weights registered without it.
            licences = [licence_find(term=term) for term in options["licence"]]
            weights, created = model_weights_register(
                path=options["path"],
                kind=options["kind"],
                name=options["name"],
                architecture=options["architecture"],
                source_name=options["source_name"],
                source_version=options["source_version"],
                config=options["config"],
                scale=options["scale"],
            )
            licences_attach(licences=licences, model_weights=[weights])
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "id": weights.pk,
                        "sha256": weights.sha256,
                        "created": created,
                        "kind": weights.kind,
                        "architecture": weights.architecture,
                        "licences": [licence.name for licence in weights.licences.all()],
                        "training_story": weights.training_story,
                    }
                )
            )
            return
        verb = "registered" if created else "already registered as"
        self.stdout.write(
            f"{verb} #{weights.pk} {weights.name} [{weights.kind}/{weights.architecture}] sha256 {weights.sha256}"
        )
        for licence in weights.licences.all():
            self.stdout.write(f"  licence: {licence.name}" + ("" if licence.commercial_use else " (non-commercial)"))
        story = weights.training_story
        if story:
            told = [
                story.get("trainer", {}).get("name", "an unnamed trainer"),
                story.get("base_model", {}).get("version") or story.get("base_model", {}).get("name"),
                f"{story['training']['images']} images" if "images" in story.get("training", {}) else None,
            ]
            self.stdout.write(f"  training story: {', '.join(part for part in told if part)} (shown on its admin page)")
