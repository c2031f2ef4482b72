from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from assets.access import is_client_user, versions_visible_to
from assets.api.parsers import json_body_load
from assets.errors import ApplicationError
from assets.models import ModelWeights, Version
from assets.operations import operation_get, operation_names


class Command(BaseCommand):
    help = (
        "Queue one finishing operation on a version, as the API and the admin do: "
        'manage.py finish 42 --op sharpen --params \'{"radius": 2, "percent": 120, "threshold": 3}\'. '
        "`manage.py finish --list` names the operations and their parameters."
    )

    def add_arguments(self, parser):
        parser.add_argument("version_id", type=int, nargs="?")
        parser.add_argument("--op", help="the operation (see --list)")
        parser.add_argument("--params", default="{}", help="its parameters as a JSON object")
        parser.add_argument(
            "--file", action="append", default=[], metavar="ROLE=PATH", help="a file it reads, e.g. lut=brand.cube"
        )
        parser.add_argument(
            "--model",
            action="append",
            default=[],
            metavar="ROLE=ID",
            help="registered weights it reads, e.g. upscaler=3",
        )
        parser.add_argument("--user", help="the studio user recorded as having started it")
        parser.add_argument("--list", action="store_true", help="list the operations this command starts")

    def handle(self, *args, **options):
        from generation.services.finishing import finishing_create

        if options["list"]:
            for name in operation_names(starts="cli"):
                hints = ", ".join(param.hint() for param in operation_get(name).given_params)
                self.stdout.write(f"{name}: {hints}")
            return
        if options["version_id"] is None or not options["op"]:
            raise CommandError("give a version id and --op (manage.py finish --list names the operations)")
        if options["op"] not in operation_names(starts="cli"):
            raise CommandError(
                f"{options['op']!r} is not started from here; one of {', '.join(operation_names(starts='cli'))}"
            )
        try:
            version = Version.objects.get(pk=options["version_id"])
        except Version.DoesNotExist as exc:
            raise CommandError(f"version {options['version_id']} does not exist") from exc
        try:
            derivation = finishing_create(
                version=version,
                op=options["op"],
                params=json_body_load(raw=options["params"], what="--params"),
                files={role: self._file(path) for role, path in self._pairs(options["file"], "--file")},
                models={role: self._model(pk) for role, pk in self._pairs(options["model"], "--model")},
                created_by=self._user(options["user"], version=version),
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"queued {derivation.op} on v{version.pk}: derivation {derivation.pk}")

    def _pairs(self, items: list[str], flag: str) -> list[tuple[str, str]]:
        pairs = [item.partition("=") for item in items]
        if any(not role or not sep or not value for role, sep, value in pairs):
            raise CommandError(f"{flag} takes ROLE=VALUE")
        return [(role, value) for role, _, value in pairs]

    def _file(self, path: str) -> bytes:
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise CommandError(f"{path} could not be read: {exc.strerror}") from exc

    def _model(self, pk: str) -> ModelWeights:
        try:
            return ModelWeights.objects.get(pk=int(pk))
        except (ValueError, ModelWeights.DoesNotExist) as exc:
            raise CommandError(f"there are no registered weights with id {pk!r}") from exc

    def _user(self, username: str | None, *, version: Version):
        """The person recorded as having started it: one who could have, through the API or the admin."""
        if username is None:
            return None
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"there is no user {username!r}") from exc
        if is_client_user(user=user) or not user.has_perm("assets.add_derivation"):
            raise CommandError(f"{username} may not start finishing: it is the studio's producers'")
        if not versions_visible_to(user=user).filter(pk=version.pk).exists():
            raise CommandError(f"{username} does not work on v{version.pk}'s client")
        return user
