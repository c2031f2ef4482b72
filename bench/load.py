"""The API under 50 concurrent clients for 30 s (wrk), against plain-Django JsonResponse views of the same rows.

Seeds a brief with 500 versions and a 30-step lineage chain, serves it with gunicorn as deployed
(config/gunicorn.conf.py), and drives each endpoint with wrk on loopback. Any error or non-2xx answer
fails the run.

    python -m bench.load [--connections 50] [--duration 30] [--versions 500]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

from bench._django import REPO, django_on_postgres
from bench._result import result_print
from config.localpg import free_port


def seed(*, versions: int, depth: int) -> dict:
    from django.contrib.auth import get_user_model

    from assets.models import Blob, Derivation, Generated, Phase, Used, Version
    from assets.services.briefs import brief_create, campaign_create, client_create
    from assets.services.tokens import api_token_issue

    brief = brief_create(campaign=campaign_create(client=client_create(name="Load"), name="Load"), title="Load")
    blob = Blob.objects.create(sha256="e" * 64, size=1, media_type="image/png")
    made = []
    for index in range(versions):
        derivation = Derivation.objects.create(
            brief=brief,
            op="img2img" if made else "import",
            phase=Phase.PRODUCTION,
            state=Derivation.State.SUCCEEDED,
            params={"seed": index, "steps": 25, "cfg": 7.0},
        )
        version = Version.objects.create(brief=brief, blob=blob, width=1024, height=1024, format="PNG", seed=index)
        Generated.objects.create(derivation=derivation, version=version)
        if made and index < depth:
            Used.objects.create(derivation=derivation, role=Used.Role.PARENT, position=0, version=made[-1])
        made.append(version)
    user = get_user_model().objects.create_superuser("load", password="load-pass-123")
    return {"brief": brief.pk, "deep": made[depth - 1].pk, "token": api_token_issue(user=user)[1]}


def wrk(url: str, *, token: str, connections: int, duration: int) -> dict:
    output = subprocess.run(
        [
            "wrk",
            "-t",
            "2",
            "-c",
            str(connections),
            "-d",
            f"{duration}s",
            "--timeout",
            "10s",
            "-H",
            f"Authorization: Token {token}",
            "-H",
            "Host: localhost",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    total = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, socket_errors.groups())) if socket_errors else 0)
    latency = re.search(r"Latency\s+(\S+)", output).group(1)
    return {"rate": rate, "requests": total, "errors": errors, "latency": latency}


def _wait_until_serving(url: str, token: str) -> None:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}", "Host": "localhost"})
    for _ in range(120):
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"gunicorn did not answer {url}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--versions", type=int, default=500)
    parser.add_argument("--depth", type=int, default=30)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (make bench installs it when run as root)")
    with django_on_postgres():
        data = seed(versions=args.versions, depth=args.depth)
        from django.db import connections

        connections.close_all()
        port = free_port()
        workers = 2 * (os.cpu_count() or 1) + 1
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.load_settings",
            "SEED_BIND": f"127.0.0.1:{port}",
            "SEED_WEB_WORKERS": str(workers),
            "SEED_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(REPO),
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--config", "config/gunicorn.conf.py"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            pairs = {
                "list": (
                    f"{base}/api/versions/?brief={data['brief']}",
                    f"{base}/bench/plain/versions/?brief={data['brief']}",
                ),
                "lineage": (
                    f"{base}/api/versions/{data['deep']}/lineage/",
                    f"{base}/bench/plain/lineage/{data['deep']}/",
                ),
            }
            _wait_until_serving(pairs["list"][0], data["token"])
            print(
                f"gunicorn ({workers} sync workers) on loopback, "
                f"wrk {args.connections} connections x {args.duration} s "
                f"per endpoint; {args.versions} versions, lineage depth {args.depth}"
            )
            print(f"{'endpoint':<28}{'req/s':>10}{'requests':>10}{'errors':>8}{'latency':>10}")
            for name, (ours_url, plain_url) in pairs.items():
                ours = wrk(ours_url, token=data["token"], connections=args.connections, duration=args.duration)
                plain = wrk(plain_url, token=data["token"], connections=args.connections, duration=args.duration)
                for label, figures in (("API", ours), ("plain JsonResponse", plain)):
                    print(
                        f"{name + ' ' + label:<28}{figures['rate']:>10.1f}"
                        f"{figures['requests']:>10}{figures['errors']:>8}"
                        f"{figures['latency']:>10}"
                    )
                ratio = ours["rate"] / plain["rate"]
                errors = ours["errors"] + plain["errors"]
                result_print(
                    name=f"load {name}",
                    ratio=ratio,
                    meaning=f"API / plain JsonResponse throughput ({name})",
                    target=">= 0.5x, 0 errors",
                    met=ratio >= 0.5 and errors == 0,
                    details=f"{ours['rate']:.0f} vs {plain['rate']:.0f} req/s, {errors} errors, "
                    f"{args.connections} clients x {args.duration} s",
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
