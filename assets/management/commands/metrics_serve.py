import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.core.management.base import BaseCommand, CommandError

from assets.metrics import METRICS_OFF, METRICS_REFUSED, exposition, metrics_access


class MetricsHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.split("?")[0] != "/metrics":
            return self._answer(404, b"only /metrics is served here")
        allowed = metrics_access(authorization=self.headers.get("Authorization", ""), address=self.client_address[0])
        if allowed is None:
            return self._answer(404, METRICS_OFF.encode())
        if not allowed:
            return self._answer(401, METRICS_REFUSED.encode())
        from prometheus_client import CONTENT_TYPE_LATEST

        return self._answer(200, exposition(), content_type=CONTENT_TYPE_LATEST)

    def _answer(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


class Command(BaseCommand):
    help = (
        "Serve GET /metrics for a worker host: the job metrics every worker process of this host wrote to "
        "PROMETHEUS_MULTIPROC_DIR, and the queues of every cluster; the same token or allow-list as the web app's."
    )

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="0.0.0.0:9108", help="ADDRESS:PORT to listen on (default 0.0.0.0:9108)")
        parser.add_argument("--once", action="store_true", help="Print one scrape on stdout and exit")

    def handle(self, *args, bind: str, once: bool, **options):
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            raise CommandError(
                "PROMETHEUS_MULTIPROC_DIR is not set: this host's worker processes keep no shared metrics "
                "to serve (set it to one empty folder for the workers and this command)"
            )
        if once:
            self.stdout.write(exposition().decode())
            return
        address, _, port = bind.rpartition(":")
        if not port.isdigit():
            raise CommandError(f"--bind needs ADDRESS:PORT, got {bind!r}")
        server = ThreadingHTTPServer((address or "0.0.0.0", int(port)), MetricsHandler)
        self.stdout.write(f"metrics on http://{bind}/metrics")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
