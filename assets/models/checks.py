"""Machine-read checks: facts measured on a version and put on its checklist as suggestions a reviewer may overrule."""

from django.conf import settings
from django.db import models

from assets.access import Access


class VersionCheck(models.Model):
    """One measure of one version (effective ppi at a print size, out-of-gamut share for a print profile, the softest
    regions, halo along a cut-out's edge, brand colours, copy read back by OCR) with the verdict the machine suggests.

    A version's pixels never change, so a check is measured once per key; the key names what it depends on besides
    the pixels (the preset's size, the profile's bytes, the copy asked for). The reviewer's verdict, where they
    overrule the machine's, is kept beside it: a check suggests, it never rejects.
    """

    class Verdict(models.TextChoices):
        PASS = "pass", "Pass"
        WARN = "warn", "Look at this"
        FAIL = "fail", "Fails"
        UNKNOWN = "unknown", "Could not measure"

    version = models.ForeignKey("assets.Version", on_delete=models.PROTECT, related_name="machine_checks")
    key = models.CharField(max_length=300)
    kind = models.CharField(max_length=40)
    label = models.CharField(max_length=200)
    measure = models.JSONField(default=dict, blank=True)
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    detail = models.TextField(blank=True)
    artefact = models.ForeignKey(
        "assets.Blob",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="A picture of the measure (the sharpness map, the gamut warning)",
    )
    computed_at = models.DateTimeField(auto_now_add=True)
    overruled_verdict = models.CharField(max_length=10, choices=Verdict.choices, blank=True)
    overruled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    overruled_at = models.DateTimeField(null=True, blank=True)
    overrule_reason = models.TextField(blank=True)

    # The studio's own reading of its work: clients see the verdicts only through what reviewers decide.
    access = Access(client="version__brief__campaign__client")

    class Meta:
        ordering = ["version", "kind", "key"]
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="machine_check_once_per_key")]

    def __str__(self) -> str:
        return f"{self.label} on v{self.version_id}: {self.get_verdict_display()}"

    @property
    def final_verdict(self) -> str:
        return self.overruled_verdict or self.verdict


class VersionCheckRun(models.Model):
    """When a version's checks were last asked for and when they last finished: the round's page waits for them
    while a request is newer than the last finish."""

    version = models.OneToOneField("assets.Version", on_delete=models.PROTECT, related_name="machine_check_run")
    requested_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    access = Access(client="version__brief__campaign__client")

    def __str__(self) -> str:
        return f"checks of v{self.version_id}"

    @property
    def pending(self) -> bool:
        return self.finished_at is None or self.finished_at < self.requested_at
