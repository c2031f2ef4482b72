from django.db import models

from assets.access import Access


class WorkerProcess(models.Model):
    """A worker process of a django-q2 cluster, as it last reported itself: what `seed_status` lists per cluster.

    Each worker writes its row when it starts and touches `seen_at` on a heartbeat; one that stops
    writing is dead or cut off from the database.
    """

    cluster = models.CharField(max_length=100)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField()
    ready_seconds = models.FloatField(
        null=True, blank=True, help_text="From spawn to taking tasks (the ML stack's load)"
    )

    access = Access()

    class Meta:
        ordering = ["cluster", "host", "pid"]
        constraints = [models.UniqueConstraint(fields=["host", "pid"], name="worker_process_host_pid")]

    def __str__(self) -> str:
        return f"{self.cluster} worker {self.host}:{self.pid}"
