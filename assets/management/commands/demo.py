import json
import logging
import secrets
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from assets import hooks
from assets.errors import ApplicationError
from config.processes import child_options, children_stop, terminate_as_exit

DEMO_USERNAME = "demo"


class Command(BaseCommand):
    help = "Load the sample brief (and every later stage's demo), then serve the admin and API with a worker beside it."

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="run the flow and exit")
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")
        parser.add_argument("--addr", default="127.0.0.1:8000", help="where to serve (default 127.0.0.1:8000)")

    def handle(self, *args, **options):
        # With --json the summary owns stdout; the worker's output and every log line go to stderr.
        self._quiet = options["json"]
        if self._quiet:
            self._logs_to_stderr()
        self._prerequisites_ensure()
        password = secrets.token_urlsafe(12)
        user = self._demo_user(password)
        context = {"user": user}
        summary = {"login": {"username": DEMO_USERNAME, "password": password}}
        # `kill -- -PGID` of `make demo` reaches this process only (the children have sessions of their own).
        previous_handler = signal.signal(signal.SIGTERM, terminate_as_exit)
        # Stages queue real jobs: a worker runs beside them (unless tasks run inline, as in tests).
        processes = {} if settings.Q_CLUSTER.get("sync") else {"worker": self._spawn("qcluster")}
        try:
            for _, stage in hooks.demo_stages:
                name = stage.__name__.removesuffix("_stage")
                try:
                    summary[name] = stage(context=context)
                except ApplicationError as exc:
                    raise CommandError(f"demo stage {stage.__module__}.{stage.__name__} failed: {exc.message}") from exc
            if options["json"]:
                self.stdout.write(json.dumps(summary, indent=2))
            else:
                self._print_summary(summary, options["addr"])
            if not options["no_serve"]:
                processes["web server"] = self._spawn("runserver", options["addr"], "--noreload")
                self._serve(processes)
        finally:
            self._stop(processes)
            signal.signal(signal.SIGTERM, previous_handler)

    @staticmethod
    def _logs_to_stderr() -> None:
        loggers = [
            logging.getLogger(),
            *(item for item in logging.Logger.manager.loggerDict.values() if isinstance(item, logging.Logger)),
        ]
        for logger in loggers:
            for handler in logger.handlers:
                if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
                    handler.setStream(sys.stderr)

    def _prerequisites_ensure(self) -> None:
        """Before any work: each app's stage checks (or makes) what it needs, so the demo never fails minutes in."""
        for prerequisite in hooks.demo_prerequisites:
            try:
                made = prerequisite()
            except ApplicationError as exc:
                raise CommandError(exc.message) from exc
            if made:
                self.stderr.write(made)

    def _demo_user(self, password: str):
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(username=DEMO_USERNAME, defaults={"email": "demo@example.com"})
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save(update_fields=["is_staff", "is_superuser", "password"])
        return user

    def _print_summary(self, summary: dict, addr: str) -> None:
        login = summary["login"]
        self.stdout.write(self.style.SUCCESS("Seed demo loaded."))
        for stage, values in summary.items():
            if stage != "login":
                self.stdout.write(f"  {stage}: {json.dumps(values)}")
        self.stdout.write(f"  admin:   http://{addr}/admin/   user {login['username']} / password {login['password']}")
        self.stdout.write(f"  API:     http://{addr}/api/   docs http://{addr}/api/docs/")

    def _spawn(self, *command: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, str(settings.BASE_DIR / "manage.py"), *command],
            stdout=sys.stderr if self._quiet else None,
            **child_options(),
        )

    def _serve(self, processes: dict) -> None:
        self.stdout.write("Serving; press Ctrl-C to stop the web server and the worker.")
        try:
            while all(process.poll() is None for process in processes.values()):
                time.sleep(0.5)
        except KeyboardInterrupt:
            return
        # A child stopped by a signal (an operator's, or the kernel's) stopped normally, not a crash.
        crashed = {
            name: p.returncode
            for name, p in processes.items()
            if p.returncode not in (None, 0, -signal.SIGINT, -signal.SIGTERM)
        }
        if crashed:
            raise CommandError(", ".join(f"the {name} exited with status {code}" for name, code in crashed.items()))

    def _stop(self, processes: dict) -> None:
        children_stop(processes.values())
