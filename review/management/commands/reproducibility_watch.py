import json
import logging

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Run the reproducibility watch now (it runs nightly from its schedule): re-run final-approved masters due "
        "a check, oldest check first, within a budget of worker seconds, and print what it found."
    )

    def add_arguments(self, parser):
        parser.add_argument("--budget", type=float, help="worker seconds to spend (default SEED_WATCH_BUDGET_S)")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        from review.services.drift import reproducibility_watch_run

        if options["budget"] is not None and options["budget"] <= 0:
            raise CommandError("--budget must be a positive number of seconds")
        if options["json"]:
            # Logs go to stdout as well; the summary line would break the one JSON document asked for.
            logging.disable(logging.INFO)
        result = reproducibility_watch_run(budget_s=options["budget"])
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        if result.get("busy"):
            self.stdout.write("another run of the watch holds its lock: nothing checked")
            return
        verdicts = ", ".join(f"{count} {verdict}" for verdict, count in result["verdicts"].items()) or "nothing due"
        self.stdout.write(
            f"checked {result['checked']} in {result['spent_s']:.1f} s of {result['budget_s']:.0f} s: {verdicts}; "
            f"{result['skipped']} left for the next run"
        )
