"""What the studio may do with what it made: licences on the inputs, and the reproducibility watch's checks."""

from django.db import models

from assets.access import LINEAGE, Access

from .base import AppendOnlyModel


class Licence(models.Model):
    """The terms of a model, a stock photo or an imported image; every version made from one inherits them."""

    name = models.CharField(max_length=200, unique=True)
    spdx_id = models.CharField(
        "SPDX id",
        max_length=100,
        blank=True,
        help_text="e.g. CreativeML-OpenRAIL-M, CC-BY-4.0, CC-BY-NC-4.0; blank for a custom licence",
    )
    commercial_use = models.BooleanField(help_text="Whether work made with it may be used commercially")
    attribution = models.TextField(blank=True, help_text="Credit line every delivery made with it must carry")
    source_url = models.URLField(max_length=500, blank=True)
    expires_on = models.DateField(null=True, blank=True, help_text="Last day the licence holds (blank: perpetual)")
    notes = models.TextField(blank=True)
    model_weights = models.ManyToManyField("assets.ModelWeights", blank=True, related_name="licences")
    references = models.ManyToManyField("assets.Reference", blank=True, related_name="licences")
    versions = models.ManyToManyField(
        "assets.Version",
        blank=True,
        related_name="licences",
        help_text="Imported images (files made outside Seed) under these terms",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    access = Access(scoped_reads=True, studio_wide_writes=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReproducibilityCheck(AppendOnlyModel):
    """One re-run of a version's recorded chain by the watch (or by hand): what came out, and why if it did not."""

    class Verdict(models.TextChoices):
        BIT_IDENTICAL = "bit_identical", "Bit-identical"
        PERCEPTUAL_MATCH = "perceptual_match", "Perceptual match"
        DRIFTED = "drifted", "Drifted"
        FAILED = "failed", "Could not be re-run"

    class Cause(models.TextChoices):
        NONE = "", "—"
        ENVIRONMENT = "environment", "The environment changed"
        MISSING_WEIGHTS = "missing_weights", "Model weights are missing"
        MISSING_INPUT = "missing_input", "A recorded input file is missing"
        UNRUNNABLE = "unrunnable", "The recipe can no longer be run"
        UNEXPLAINED = "unexplained", "Differs under the same environment"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Scheduled"
        ENVIRONMENT = "environment", "Environment changed"
        MANUAL = "manual", "By hand"

    version = models.ForeignKey("assets.Version", on_delete=models.PROTECT, related_name="reproducibility_checks")
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    cause = models.CharField(max_length=20, choices=Cause.choices, blank=True, default="")
    detail = models.TextField(
        blank=True, help_text="The cause in words: the missing sha256, the changed fields, the error"
    )
    distance = models.FloatField(null=True, blank=True, help_text="Bits of the 64-bit perceptual hash that differ")
    fingerprint_diff = models.JSONField(default=list, blank=True)
    reproduced_sha256 = models.CharField(max_length=64, blank=True)
    environment_digest = models.CharField(max_length=64, help_text="sha256 of the worker's environment fingerprint")
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    wall_seconds = models.FloatField()
    checked_at = models.DateTimeField(auto_now_add=True)

    access = Access(client="version__brief__campaign__client", client_reads=LINEAGE)

    class Meta:
        ordering = ["-checked_at", "-id"]
        indexes = [models.Index(fields=["version", "-checked_at"], name="repro_check_latest_idx")]

    def __str__(self) -> str:
        return f"v{self.version_id} {self.verdict} on {self.checked_at:%Y-%m-%d}"
