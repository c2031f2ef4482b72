"""gunicorn for the web container: its access and error lines go through Seed's formatters on stdout."""

import os

from gunicorn import glogging

from config.logging import JsonFormatter, PlainFormatter

bind = os.environ.get("SEED_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("SEED_WEB_WORKERS", "3"))
timeout = 120
accesslog = "-"
errorlog = "-"
# Uploads are capped in Django too; this keeps absurd header blocks out before Django sees them.
limit_request_line = 8190
limit_request_fields = 100


class SeedLogger(glogging.Logger):
    """Access lines carry request paths and Referer headers: our formatters mask share-link tokens in them."""

    def setup(self, cfg):
        super().setup(cfg)
        formatter = JsonFormatter() if os.environ.get("SEED_LOG_FORMAT", "json") == "json" else PlainFormatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)


logger_class = SeedLogger


def child_exit(server, worker):
    """A gone worker's live gauges leave the multiprocess metrics (its counters and histograms stay summed)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
