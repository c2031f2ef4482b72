"""Set up Django for a benchmark on a throwaway Postgres cluster (or DATABASE_URL when set)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from config.localpg import Cluster, free_port

REPO = Path(__file__).resolve().parent.parent


@contextmanager
def django_on_postgres():
    cluster = None
    scratch = Path(tempfile.mkdtemp(prefix="seed-bench-"))
    try:
        if not os.environ.get("DATABASE_URL"):
            cluster = Cluster(data_dir=scratch / "pg", port=free_port(), fast=True)
            os.environ["DATABASE_URL"] = cluster.up()
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
        os.environ.setdefault("SEED_MEDIA_ROOT", str(scratch / "media"))
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        yield
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(scratch, ignore_errors=True)
