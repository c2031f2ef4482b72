import json

from django.core.management.base import BaseCommand, CommandError

from assets.cluster_status import clusters_status


def _age(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


class Command(BaseCommand):
    help = (
        "For an operator: each worker cluster's workers (alive or silent), its queue depth and oldest waiting task, "
        "what runs now and the last failures. Reads only Postgres, so any host can answer for all."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--failures", type=int, default=10, help="How many of the last failures to list (default 10)"
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="One JSON object instead of text")

    def handle(self, *args, failures: int, as_json: bool, **options):
        if failures < 0:
            raise CommandError("--failures must be 0 or more")
        status = clusters_status(failures=failures)
        if as_json:
            self.stdout.write(json.dumps(status, default=str, indent=2))
            return
        write = self.stdout.write
        for cluster in status["clusters"]:
            alive = [worker for worker in cluster["workers"] if worker["alive"]]
            write(f"cluster {cluster['name']} ({cluster['takes']}): {len(alive)} worker(s) alive")
            for worker in cluster["workers"]:
                state = "alive" if worker["alive"] else "SILENT"
                write(
                    f"  {worker['host']}:{worker['pid']}  {state}, seen {_age(worker['seen_seconds_ago'])} ago, "
                    f"up since {worker['started_at']:%Y-%m-%d %H:%M:%S}"
                )
            oldest = cluster["oldest_waiting"]
            write(
                f"  queue: {cluster['waiting']} waiting, {cluster['held']} held by a worker"
                + (f"; oldest waiting {oldest['task']} for {_age(oldest['waiting_seconds'])}" if oldest else "")
            )
        write(f"running now: {len(status['running'])}")
        for run in status["running"]:
            write(
                f"  {run['kind']} {run['id']} ({run['op']}), attempt {run['attempts']}, "
                f"since {run['started_at']:%H:%M:%S} on {run['claimed_by'] or '?'}"
            )
        write(f"last failures: {len(status['failures'])}")
        for run in status["failures"]:
            when = f"{run['finished_at']:%Y-%m-%d %H:%M}" if run["finished_at"] else "?"
            write(f"  {when}  {run['kind']} {run['id']} ({run['op']}): {run['error']}")
        for failure in status["task_failures"]:
            write(
                f"  {failure['at']:%Y-%m-%d %H:%M}  task {failure['task']} on {failure['cluster'] or '?'} raised: "
                f"{failure['result']}"
            )
