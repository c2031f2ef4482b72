"""A project-local Redis server for the tests and benchmarks that run a queue on django-q2's Redis broker.

Standard library only, like config.localpg: Debian's `redis-server`, installed when missing if we run as root,
started on a loopback port with its data in a folder of its own and no persistence (a restart empties it, which
is what the broker-restart fault test wants: the tasks it held are gone, the run lifecycle must send them again).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


class RedisError(RuntimeError):
    pass


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("redis-server not found; installing Debian's redis-server package…", file=sys.stderr)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", "redis-server"],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        found = shutil.which("redis-server")
    if not found:
        raise RedisError("redis-server was not found; install Debian's 'redis-server' package or set SEED_REDIS_URL")
    return found


@dataclass
class RedisServer:
    folder: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> str:
        if self.process is not None and self.process.poll() is None:
            return self.url
        self.folder.mkdir(parents=True, exist_ok=True)
        log = (self.folder / "redis.log").open("ab")
        argv = [redis_binary(), "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.folder)]
        # No snapshots and no append-only file: what the server holds lives only as long as the process.
        argv += ["--save", "", "--appendonly", "no", "--protected-mode", "yes", "--daemonize", "no"]
        self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = (self.folder / "redis.log").read_text(errors="replace")[-2000:]
                raise RedisError(f"redis-server on port {self.port} did not start:\n{tail}")
            time.sleep(0.05)
        return self.url

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Kill the server outright: nothing it held survives (it keeps nothing on disk either)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        self.process = None
