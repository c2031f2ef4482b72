"""The lineage graph, shaped like W3C PROV: entities, activities (derivations) and used/generated edges."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q

from assets.access import LINEAGE, Access
from assets.operations import operation_label

from .base import AppendOnlyModel, QueuedRun


class Phase(models.TextChoices):
    IDEATION = "ideation", "Ideation"
    PRODUCTION = "production", "Production"
    FINISHING = "finishing", "Finishing"
    DELIVERY = "delivery", "Delivery"


class Derivation(AppendOnlyModel, QueuedRun):
    """One activity: an operation with typed parameters that used inputs and generated versions."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    mutable_fields = frozenset(
        {
            "state",
            "error",
            "environment",
            "job_id",
            "started_at",
            "finished_at",
            "wall_seconds",
            "gpu_seconds",
            "progress_step",
            "progress_total",
            "claim_token",
            "attempts",
            "run_notes",
            "cancelled_by",
            "cancelled_at",
            "progress_log",
            "task_func",
            "task_queue",
            "sent_at",
            "claimed_by",
        }
    )

    brief = models.ForeignKey("assets.Brief", on_delete=models.PROTECT, related_name="derivations")
    # One of the operations the worker declares (assets.operations): checked when a derivation is recorded, so a
    # new operation needs no migration.
    op = models.CharField(max_length=32)
    phase = models.CharField(max_length=20, choices=Phase.choices)
    params = models.JSONField(default=dict, blank=True)
    environment = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    job_id = models.CharField(max_length=64, blank=True)
    progress_step = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    # What a long run measures as it goes (a training's loss by step): [{"step": 10, "loss": 0.12}, …], oldest first.
    progress_log = models.JSONField(default=list, blank=True)
    # What the worker had to do to get the run through (an out-of-memory retry, a cleared cache): newest last.
    run_notes = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    wall_seconds = models.FloatField(null=True, blank=True)
    gpu_seconds = models.FloatField(null=True, blank=True)

    access = Access(client="brief__campaign__client", client_reads=LINEAGE)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["brief", "phase"]), models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"{self.op_label} #{self.pk}"

    @property
    def op_label(self) -> str:
        return operation_label(self.op)


class Version(AppendOnlyModel):
    """One image: an entity whose bytes are a content-addressed blob."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        DELIVERED = "delivered", "Delivered"

    class Triage(models.TextChoices):
        UNTRIAGED = "untriaged", "Untriaged"
        KEEP = "keep", "Keep"
        REGENERATE = "regenerate", "Regenerate"
        REJECT = "reject", "Reject"
        MAYBE_LATER = "maybe_later", "Maybe later"

    mutable_fields = frozenset({"status", "triage", "label"})

    brief = models.ForeignKey("assets.Brief", on_delete=models.PROTECT, related_name="versions")
    blob = models.ForeignKey("assets.Blob", on_delete=models.PROTECT, related_name="versions")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=10)
    seed = models.BigIntegerField(null=True, blank=True)
    label = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    triage = models.CharField(max_length=20, choices=Triage.choices, default=Triage.UNTRIAGED)
    created_at = models.DateTimeField(auto_now_add=True)

    access = Access(client="brief__campaign__client", client_reads=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["brief", "status"]), models.Index(fields=["brief", "triage"])]

    def __str__(self) -> str:
        return f"v{self.pk} {self.blob_id[:10]}"

    @property
    def sha256(self) -> str:
        return self.blob_id


class Used(AppendOnlyModel):
    """A derivation used an entity in a role; exactly one target column is set."""

    class Role(models.TextChoices):
        INIT_IMAGE = "init_image", "Init image"
        MASK = "mask", "Mask"
        CONTROL_IMAGE = "control_image", "Control image"
        REFERENCE = "reference", "Reference"
        LAYER = "layer", "Layer"
        LUT = "lut", "LUT"
        PARENT = "parent", "Parent (edited source)"
        PROMPT = "prompt", "Prompt"
        BASE_MODEL = "base_model", "Base model"
        LORA = "lora", "LoRA"
        VAE = "vae", "VAE"
        CONTROLNET = "controlnet", "ControlNet"
        UPSCALER = "upscaler", "Upscaler"
        FONT = "font", "Font"
        PROFILE = "profile", "ICC profile"
        REPRODUCED = "reproduced", "Version this run reproduces"
        CHANGE_REQUEST = "change_request", "Change request (a reviewer's note and its markup)"
        IP_ADAPTER = "ip_adapter", "IP-Adapter"
        IMAGE_ENCODER = "image_encoder", "Image encoder"
        GUIDE_IMAGE = "guide_image", "Guide image (the brief's palette as swatches)"
        MATTING = "matting", "Matting model"
        TRAINING_IMAGE = "training_image", "Training image (with its caption)"

    derivation = models.ForeignKey(Derivation, on_delete=models.PROTECT, related_name="used")
    role = models.CharField(max_length=20, choices=Role.choices)
    position = models.PositiveSmallIntegerField(default=0)
    weight = models.FloatField(null=True, blank=True)
    version = models.ForeignKey(Version, null=True, blank=True, on_delete=models.PROTECT, related_name="used_by")
    reference = models.ForeignKey(
        "assets.Reference", null=True, blank=True, on_delete=models.PROTECT, related_name="used_by"
    )
    prompt = models.ForeignKey("assets.Prompt", null=True, blank=True, on_delete=models.PROTECT, related_name="used_by")
    model_weights = models.ForeignKey(
        "assets.ModelWeights", null=True, blank=True, on_delete=models.PROTECT, related_name="used_by"
    )
    blob = models.ForeignKey(
        "assets.Blob",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="used_by",
        help_text="Raw bytes with no entity of their own: a mask, a LUT file, a font.",
    )

    access = Access(client="derivation__brief__campaign__client", client_reads=LINEAGE)

    class Meta:
        ordering = ["derivation", "role", "position"]
        verbose_name_plural = "used edges"
        # Both directions of the version-to-version edge, covering, for the recursive lineage queries.
        indexes = [
            models.Index(fields=["derivation", "version"], condition=Q(version__isnull=False), name="used_up_idx"),
            models.Index(fields=["version", "derivation"], condition=Q(version__isnull=False), name="used_down_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                name="used_exactly_one_target",
                condition=(
                    Q(
                        version__isnull=False,
                        reference__isnull=True,
                        prompt__isnull=True,
                        model_weights__isnull=True,
                        blob__isnull=True,
                    )
                    | Q(
                        version__isnull=True,
                        reference__isnull=False,
                        prompt__isnull=True,
                        model_weights__isnull=True,
                        blob__isnull=True,
                    )
                    | Q(
                        version__isnull=True,
                        reference__isnull=True,
                        prompt__isnull=False,
                        model_weights__isnull=True,
                        blob__isnull=True,
                    )
                    | Q(
                        version__isnull=True,
                        reference__isnull=True,
                        prompt__isnull=True,
                        model_weights__isnull=False,
                        blob__isnull=True,
                    )
                    | Q(
                        version__isnull=True,
                        reference__isnull=True,
                        prompt__isnull=True,
                        model_weights__isnull=True,
                        blob__isnull=False,
                    )
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.derivation} used {self.role}"

    @property
    def target(self):
        return self.version or self.reference or self.prompt or self.model_weights or self.blob


class Generated(AppendOnlyModel):
    """A derivation generated a version; a batch of six is one derivation with six of these."""

    class Role(models.TextChoices):
        OUTPUT = "output", "Output"
        REPRODUCTION = "reproduction", "Reproduction of a recorded version"

    derivation = models.ForeignKey(Derivation, on_delete=models.PROTECT, related_name="generated")
    version = models.OneToOneField(Version, on_delete=models.PROTECT, related_name="generated_by")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.OUTPUT)
    index = models.PositiveSmallIntegerField(default=0)

    access = Access(client="derivation__brief__campaign__client", client_reads=LINEAGE)

    class Meta:
        ordering = ["derivation", "index"]
        verbose_name_plural = "generated edges"
        constraints = [models.UniqueConstraint(fields=["derivation", "index"], name="generated_unique_index")]

    def __str__(self) -> str:
        return f"{self.derivation} generated v{self.version_id}"


class DerivedFile(AppendOnlyModel):
    """A file in the lineage that is not an image version: an alpha mask, an SVG.

    A mask is as wide and high as the version it masks (`source`), white where the subject is; a matte derivation
    makes one beside its cut-out version, a refine makes one from another, and an uploaded one has no derivation.
    Masks are reused as the mask of inpaint jobs and composite layers (recorded as their blob).
    """

    class Kind(models.TextChoices):
        MASK = "mask", "Alpha mask"
        SVG = "svg", "SVG vector"

    mutable_fields = frozenset({"label"})

    brief = models.ForeignKey("assets.Brief", on_delete=models.PROTECT, related_name="derived_files")
    source = models.ForeignKey(Version, on_delete=models.PROTECT, related_name="derived_files")
    derivation = models.ForeignKey(
        Derivation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="files",
        help_text="What made it; empty for an uploaded mask",
    )
    refined_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="refinements"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    blob = models.ForeignKey("assets.Blob", on_delete=models.PROTECT, related_name="derived_files")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    label = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    access = Access(client="brief__campaign__client", client_reads=LINEAGE)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["source", "kind"])]
        # One file per derivation: a run recorded twice (an at-least-once broker) never makes a second.
        constraints = [
            models.UniqueConstraint(
                fields=["derivation"], condition=Q(derivation__isnull=False), name="derivedfile_once_per_derivation"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} of v{self.source_id}"


class VersionSearch(models.Model):
    """The words a version can be found by, kept current by the database itself (triggers, never the app).

    `recipe` holds the prompt and negative prompt of the derivation that made the version (assets' triggers on
    used and generated edges); `discussion` the client-visible text of notes and decision comments on it, and
    `discussion_internal` the studio's internal ones (review's triggers); `document` is all three, a column
    Postgres generates. Client users search recipe and discussion only.

    `brief` (the version's) and `model_weights` (every weights file its recipe used) are copied here by the same
    triggers so that one GIN index holds them beside the words: the scope of a search (brief, campaign, client, what
    a member may see) and a model filter then cut the text matches inside the index, and only the few rows left are
    read and ranked (assets 0030).
    """

    version = models.OneToOneField(Version, primary_key=True, on_delete=models.CASCADE, related_name="search")
    brief = models.ForeignKey(
        "assets.Brief", on_delete=models.CASCADE, related_name="+", db_index=False, editable=False
    )
    model_weights = ArrayField(models.BigIntegerField(), default=list, editable=False)
    recipe = SearchVectorField(null=True)
    discussion = SearchVectorField(null=True)
    discussion_internal = SearchVectorField(null=True)
    document = SearchVectorField(null=True, editable=False)  # GENERATED ALWAYS AS (all three) STORED

    access = Access(client="version__brief__campaign__client")

    class Meta:
        # btree_gin lets the brief's id sit in a GIN index; a query on any subset of the columns uses it. Without
        # fastupdate, every search reads the index alone, not also a pending list of recent rows (up to 4 MB, read
        # whole by each scan of a nested loop); a version's insert pays its few entries at once instead.
        indexes = [
            GinIndex(fields=["brief", "model_weights", "document"], name="versionsearch_scope_gin", fastupdate=False)
        ]
