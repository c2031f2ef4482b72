import json

from django.core.management.base import BaseCommand, CommandError

from assets.models import Version
from assets.operations import params_key_summary
from assets.selectors import lineage_graph, used_node_id


class Command(BaseCommand):
    help = (
        "Print the ancestry of a version: every derivation, input version, prompt, model, LoRA and reference above it."
    )

    def add_arguments(self, parser):
        parser.add_argument("version_id", type=int)
        parser.add_argument("--json", action="store_true", help="nodes and edges as one JSON object")

    def handle(self, *args, **options):
        try:
            version = Version.objects.get(pk=options["version_id"])
        except Version.DoesNotExist as exc:
            raise CommandError(f"version {options['version_id']} does not exist") from exc
        graph = lineage_graph(version=version)
        if options["json"]:
            self.stdout.write(json.dumps(graph.as_dict(), indent=2, default=str))
            return
        self._print_version(version.pk, graph, depth=0, seen=set())

    def _print_version(self, version_id, graph, depth, seen):
        version = graph.versions[version_id]
        indent = "    " * depth
        self.stdout.write(
            f"{indent}v{version.pk} {version.width}x{version.height} {version.format} sha256 {version.blob_id}"
        )
        if version_id in seen:
            self.stdout.write(f"{indent}    (shown above)")
            return
        seen.add(version_id)
        edge = graph.made_by.get(version_id)
        if edge is None:
            return
        derivation = graph.derivations[edge.derivation_id]
        summary = params_key_summary(op=derivation.op, params=derivation.params)
        self.stdout.write(
            f"{indent}  <- {derivation.op} #{derivation.pk} [{derivation.phase}, {derivation.state}] {summary}"
        )
        for used in graph.inputs.get(derivation.pk, []):
            if used.version_id:
                self.stdout.write(f"{indent}     {used.role}:")
                self._print_version(used.version_id, graph, depth + 2, seen)
            else:
                weight = f" x{used.weight:g}" if used.weight is not None else ""
                self.stdout.write(f"{indent}     {used.role}: {used_node_id(used)} {used.target}{weight}")
