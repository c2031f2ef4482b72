import json

from django.core.management.base import BaseCommand, CommandError

from assets.errors import ApplicationError
from assets.models import Version


class Command(BaseCommand):
    help = (
        "Re-run the recorded chain above a version from its lineage alone and print a verdict: "
        "bit_identical, perceptual_match or drifted, with the environment fields that differ."
    )

    def add_arguments(self, parser):
        parser.add_argument("version_id", type=int, nargs="?")
        parser.add_argument(
            "--file", type=int, dest="file_id", help="a derived file (a mask or an SVG) instead of a version"
        )
        parser.add_argument(
            "--lora",
            type=int,
            dest="lora_id",
            help="a LoRA trained here (model weights id): train it again and compare",
        )
        parser.add_argument("--json", action="store_true")
        parser.add_argument(
            "--record", action="store_true", help="keep the result as a new version linked to the original"
        )
        parser.add_argument("--threads", type=int, help="run with this many CPU threads instead of the recorded count")

    def handle(self, *args, **options):
        from generation.reproduce import file_reproduce, reproduction_record, version_reproduce

        given = [options[name] is not None for name in ("version_id", "file_id", "lora_id")]
        if sum(given) != 1:
            raise CommandError("give a version id, --file ID or --lora ID (one of them)")
        if options["threads"] is not None and options["threads"] < 1:
            raise CommandError("--threads must be at least 1")
        if options["file_id"] is not None:
            return self._file(options, file_reproduce)
        if options["lora_id"] is not None:
            return self._lora(options)
        try:
            version = Version.objects.select_related("blob", "brief").get(pk=options["version_id"])
        except Version.DoesNotExist as exc:
            raise CommandError(f"version {options['version_id']} does not exist") from exc
        try:
            reproduction = version_reproduce(version=version, threads=options["threads"])
            recorded = reproduction_record(reproduction=reproduction) if options["record"] else None
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        result = reproduction.as_dict() | {"recorded_version_id": recorded.pk if recorded else None}
        self._report(result, title=f"v{version.pk}", as_json=options["json"])
        if recorded and not options["json"]:
            self.stdout.write(f"  recorded as v{recorded.pk}")

    def _report(self, result: dict, *, title: str, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(result, indent=2))
            return
        self.stdout.write(f"{title}: {result['verdict']} (distance {result['distance']})")
        self.stdout.write(f"  recorded   {result['recorded_sha256']}")
        self.stdout.write(f"  reproduced {result['reproduced_sha256']}")
        for item in result["fingerprint_diff"]:
            self.stdout.write(f"  differs: {item['field']}: recorded {item['recorded']!r}, now {item['current']!r}")

    def _file(self, options, file_reproduce):
        from assets.models import DerivedFile

        if options["record"]:
            raise CommandError("--record keeps a re-run version; a derived file's re-run is only compared")
        try:
            result = file_reproduce(
                file=DerivedFile.objects.select_related("derivation", "blob").get(pk=options["file_id"])
            )
        except DerivedFile.DoesNotExist as exc:
            raise CommandError(f"derived file {options['file_id']} does not exist") from exc
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self._report(result, title=f"{result['kind']} #{result['file_id']}", as_json=options["json"])

    def _lora(self, options):
        from assets.models import ModelWeights
        from generation.training_reproduce import lora_reproduce

        if options["record"]:
            raise CommandError("--record keeps a re-run version; a re-trained LoRA is only compared")
        try:
            weights = ModelWeights.objects.select_related("trained_by").get(pk=options["lora_id"])
        except ModelWeights.DoesNotExist as exc:
            raise CommandError(f"model weights {options['lora_id']} do not exist") from exc
        try:
            result = lora_reproduce(weights=weights, threads=options["threads"])
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self._report(result, title=f"LoRA {weights.name} #{weights.pk}", as_json=options["json"])
        if result["max_abs_difference"] is not None and not options["json"]:
            self.stdout.write(f"  largest tensor difference {result['max_abs_difference']:.3g}")
