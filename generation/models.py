from django.conf import settings
from django.db import models

from assets.access import LINEAGE, Access
from assets.models.base import QueuedRun


class GenerationJob(models.Model):
    """What a producer asked for: one batch (a derivation) per combination of placeholder values.

    The recipe itself lives on each derivation and its used edges; this row groups the batches
    for progress, cancelling and "regenerate from this version".
    """

    brief = models.ForeignKey("assets.Brief", on_delete=models.PROTECT, related_name="generation_jobs")
    op = models.CharField(max_length=20)
    template = models.ForeignKey(
        "assets.PromptTemplate", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    values_grid = models.JSONField(default=dict, blank=True)
    request = models.JSONField(default=dict, blank=True, help_text="The request as given, for the record")
    regenerated_from = models.ForeignKey(
        "assets.Version", null=True, blank=True, on_delete=models.PROTECT, related_name="regenerations"
    )
    derivations = models.ManyToManyField("assets.Derivation", through="JobBatch", related_name="jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    access = Access(client="brief__campaign__client", client_reads=LINEAGE)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.op} job #{self.pk}"


class JobBatch(models.Model):
    job = models.ForeignKey(GenerationJob, on_delete=models.PROTECT, related_name="batches")
    derivation = models.OneToOneField("assets.Derivation", on_delete=models.PROTECT, related_name="job_batch")
    index = models.PositiveSmallIntegerField()
    values = models.JSONField(default=dict, blank=True)

    access = Access(client="job__brief__campaign__client", client_reads=LINEAGE)

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="batch_index_once_per_job")]


class ReproductionRun(QueuedRun):
    """A request to reproduce a version, run on the worker (the web process never loads the ML stack)."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    version = models.ForeignKey("assets.Version", on_delete=models.PROTECT, related_name="reproduction_runs")
    record = models.BooleanField(default=False)
    threads = models.PositiveSmallIntegerField(null=True, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    result = models.JSONField(default=dict, blank=True)
    recorded_version = models.ForeignKey(
        "assets.Version", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    run_kind = "reproduction"

    access = Access(client="version__brief__campaign__client", client_reads=LINEAGE)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        verdict = self.result.get("verdict", self.state)
        return f"reproduction of v{self.version_id}: {verdict}"


class GridJob(models.Model):
    """An X/Y/Z comparison grid (A1111's X/Y/Z plot as lineage): one generation job per cell, each a version with
    its own derivation, and a labelled sheet (a version of op `grid`) that records every cell as used."""

    brief = models.ForeignKey("assets.Brief", on_delete=models.PROTECT, related_name="grids")
    axes = models.JSONField(help_text="[{kind, label, values: [{value, label}]}], X first")
    request = models.JSONField(default=dict, blank=True, help_text="The shared recipe as given, for the record")
    sheet = models.ForeignKey("assets.Version", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    access = Access(client="brief__campaign__client", client_reads=LINEAGE)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"grid #{self.pk} ({' × '.join(axis['label'] for axis in self.axes)})"


class GridCell(models.Model):
    grid = models.ForeignKey(GridJob, on_delete=models.PROTECT, related_name="cells")
    job = models.OneToOneField(GenerationJob, on_delete=models.PROTECT, related_name="grid_cell")
    position = models.PositiveIntegerField()
    coords = models.JSONField(help_text="[x, y, z] indexes into the axes' values")

    access = Access(client="grid__brief__campaign__client", client_reads=LINEAGE)

    class Meta:
        ordering = ["grid", "position"]
        constraints = [models.UniqueConstraint(fields=["grid", "position"], name="grid_cell_once")]
