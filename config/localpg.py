"""A project-local PostgreSQL cluster for the demo, development and tests.

Standard library only: the Makefile runs it before Django is configured, and the test
fixtures start a throwaway cluster with it. Nothing here runs on import.

    python -m config.localpg up      # init + start .pgdata/ (no-op when DATABASE_URL is set)
    python -m config.localpg down
    python -m config.localpg status
"""

from __future__ import annotations

import argparse
import os
import pwd
import random
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO_ROOT / ".pgdata"
DEFAULT_PORT = 54329
DB_USER = "seed"
DB_NAME = "seed"
SYSTEM_USER = "postgres"
BIN_CANDIDATES = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin")


class ClusterError(RuntimeError):
    pass


def _is_root() -> bool:
    return os.geteuid() == 0


def find_bindir() -> Path:
    for candidate in BIN_CANDIDATES:
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    if shutil.which("pg_config"):
        bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        if bindir and (Path(bindir) / "initdb").exists():
            return Path(bindir)
    if _is_root() and shutil.which("apt-get"):
        print("PostgreSQL server binaries not found; installing Debian's postgresql package…", file=sys.stderr)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-q", "postgresql"], check=True, env=env, stdout=subprocess.DEVNULL)
        return find_bindir()
    raise ClusterError(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found in "
        f"{', '.join(BIN_CANDIDATES)} or via pg_config. Install the 'postgresql' package "
        "or set DATABASE_URL to an existing server."
    )


def _grant_traverse(path: Path) -> None:
    """The server runs as `postgres` and must reach its data dir through every parent folder."""
    for parent in reversed(path.resolve().parents):
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, mode | 0o001)
            print(f"localpg: added o+x to {parent} so the postgres user can reach the data dir", file=sys.stderr)


def free_port() -> int:
    """A free port below the kernel's ephemeral range, for a server that may stop and start again.

    A port the kernel hands out (bind to 0) lies in the ephemeral range: while such a server is down, any
    outgoing connection may be given it as its source port (even connect to itself), and the server cannot
    start again. Ports below the range are never handed out that way.
    """
    low = _ephemeral_low()
    chooser = random.SystemRandom()
    for _ in range(200):
        port = chooser.randrange(max(1024, low - 20000), low)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise ClusterError(f"no free port below {low} after 200 tries")


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


@dataclass
class Cluster:
    data_dir: Path
    port: int = DEFAULT_PORT
    fast: bool = False

    @property
    def url(self) -> str:
        return f"postgres://{DB_USER}@127.0.0.1:{self.port}/{DB_NAME}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    def _run(self, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        if _is_root():
            argv = ["runuser", "-u", SYSTEM_USER, "--", *argv]
        return subprocess.run(argv, capture_output=True, text=True, **kwargs)

    def _pg(self, tool: str) -> str:
        return str(find_bindir() / tool)

    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialised():
            return False
        return self._run([self._pg("pg_ctl"), "status", "-D", str(self.data_dir)]).returncode == 0

    def init(self) -> None:
        if self.is_initialised():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if _is_root():
            try:
                pwd.getpwnam(SYSTEM_USER)
            except KeyError as exc:
                raise ClusterError(f"running as root needs a '{SYSTEM_USER}' system user to own the cluster") from exc
            _grant_traverse(self.data_dir)
            shutil.chown(self.data_dir, SYSTEM_USER, SYSTEM_USER)
        os.chmod(self.data_dir, 0o700)
        result = self._run(
            [
                self._pg("initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                DB_USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ]
        )
        if result.returncode != 0:
            raise ClusterError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> None:
        if self.is_running():
            return
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                raise ClusterError(f"port {self.port} is already taken by another server; set SEED_PG_PORT")
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories=''"
        if self.fast:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        result = self._run(
            [
                self._pg("pg_ctl"),
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                options,
            ]
        )
        if result.returncode != 0:
            log = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            raise ClusterError(f"pg_ctl start failed:\n{result.stdout}\n{result.stderr}\n{log}")
        self._ensure_database()

    def _ensure_database(self) -> None:
        psql = [self._pg("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", DB_USER, "-d", "postgres", "-tAc"]
        for _ in range(50):
            found = self._run([*psql, f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'"])
            if found.returncode == 0:
                break
            time.sleep(0.1)
        else:
            raise ClusterError(f"server on port {self.port} does not accept connections: {found.stderr}")
        if found.stdout.strip() != "1":
            created = self._run([*psql, f'CREATE DATABASE "{DB_NAME}"'])
            if created.returncode != 0:
                raise ClusterError(f"could not create database {DB_NAME}: {created.stderr}")

    def stop(self) -> None:
        if self.is_running():
            self._run([self._pg("pg_ctl"), "stop", "-m", "fast", "-w", "-D", str(self.data_dir)])

    def up(self) -> str:
        self.init()
        self.start()
        return self.url


def local_cluster() -> Cluster:
    return Cluster(
        data_dir=Path(os.environ.get("SEED_PGDATA", DEFAULT_DATA_DIR)),
        port=int(os.environ.get("SEED_PG_PORT", DEFAULT_PORT)),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config.localpg", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "down", "status"])
    args = parser.parse_args(argv)
    if os.environ.get("DATABASE_URL"):
        print("DATABASE_URL is set; the project-local cluster is not used.")
        return 0
    cluster = local_cluster()
    try:
        if args.action == "up":
            print(f"PostgreSQL ready at {cluster.up()} (data in {cluster.data_dir})")
        elif args.action == "down":
            cluster.stop()
            print("PostgreSQL stopped.")
        else:
            running = cluster.is_running()
            print(f"{'running' if running else 'stopped'}: {cluster.url} (data in {cluster.data_dir})")
            return 0 if running else 1
    except ClusterError as exc:
        print(f"localpg: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
