"""Channel presets, focal points, deliveries of approved masters and the files they produced."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from assets.access import Access
from assets.images import MEDIA_TYPES
from assets.models.base import QueuedRun
from assets.models.validators import validate_hex_colour

DEFAULT_NAME_TEMPLATE = "{yyyymmdd}_{section}_{colour}_{seed}"


class ChannelPreset(models.Model):
    """A slot a variant is made for: size, file format, colour profile and how the master is fitted to it."""

    class Format(models.TextChoices):
        JPEG = "JPEG", "JPEG"
        PNG = "PNG", "PNG"
        WEBP = "WEBP", "WebP"
        AVIF = "AVIF", "AVIF"
        TIFF = "TIFF", "TIFF (LZW)"

    class CropRule(models.TextChoices):
        FOCAL = "focal", "Crop around the focal point"
        OUTPAINT = "outpaint", "Needs an outpainted master: QC blocks a crop that would cut it"

    class Kind(models.TextChoices):
        IMAGE = "image", "Image"
        PRESENTATION = "presentation", "Presentation slate (image with brief, version and recipe)"

    class Profile(models.TextChoices):
        SRGB = "srgb", "sRGB (embedded)"
        NONE = "none", "None (untagged)"
        CMYK = "cmyk", "CMYK through the print profile (JPEG or TIFF)"

    class Intent(models.TextChoices):
        PERCEPTUAL = "perceptual", "Perceptual"
        RELATIVE = "relative", "Relative colorimetric"
        SATURATION = "saturation", "Saturation"
        ABSOLUTE = "absolute", "Absolute colorimetric"

    class RecipeExposure(models.TextChoices):
        FULL = "full", "Full recipe (prompt and A1111 parameters in EXIF, PNG text and XMP)"
        MODEL_AND_SEED = "seed_model", "Seed and model only (no prompt)"
        NONE = "none", "Nothing of the recipe"

    class LabelPlacement(models.TextChoices):
        NONE = "", "No visible label"
        TOP_LEFT = "top_left", "Top left corner"
        TOP_RIGHT = "top_right", "Top right corner"
        BOTTOM_LEFT = "bottom_left", "Bottom left corner"
        BOTTOM_RIGHT = "bottom_right", "Bottom right corner"
        BOTTOM_BAND = "bottom_band", "Band across the bottom"

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    width = models.PositiveIntegerField(validators=[MinValueValidator(16), MaxValueValidator(16384)])
    height = models.PositiveIntegerField(validators=[MinValueValidator(16), MaxValueValidator(16384)])
    format = models.CharField(max_length=8, choices=Format.choices, default=Format.JPEG)
    quality = models.PositiveSmallIntegerField(default=90, validators=[MinValueValidator(1), MaxValueValidator(100)])
    colour_profile = models.CharField(max_length=8, choices=Profile.choices, default=Profile.SRGB)
    crop_rule = models.CharField(max_length=10, choices=CropRule.choices, default=CropRule.FOCAL)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.IMAGE)
    section = models.SlugField(
        max_length=40, help_text="Page section or placement, used in file names (e.g. hero, social)"
    )
    background_colour = models.CharField(
        max_length=7,
        blank=True,
        validators=[validate_hex_colour],
        help_text="The page section's background; QC checks the image stands out from it",
    )
    min_delta_e = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0)],
        help_text="Least ΔE2000 between dominant colour and background (blank: the studio default)",
    )
    print_width_mm = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1.0)],
        help_text="For print and large format: printed width, for the pixels-per-inch check",
    )
    min_ppi = models.PositiveIntegerField(default=300, validators=[MinValueValidator(1)])
    # The printer's or press's output profile (e.g. FOGRA39, GRACoL): CMYK files are converted through it and carry it.
    print_profile = models.ForeignKey(
        "assets.Blob",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="A CMYK output ICC profile, for the CMYK colour profile",
    )
    rendering_intent = models.CharField(max_length=12, choices=Intent.choices, default=Intent.RELATIVE)
    # The EU AI Act's marking (Art. 50): a channel, or a client (Client.requires_ai_disclosure), may require that every
    # file carry the C2PA manifest, its soft binding and the IPTC AI fields; QC blocks a file that would lack one.
    disclosure_required = models.BooleanField(
        default=False, help_text="QC blocks a file that would lack the C2PA manifest, soft binding or IPTC AI fields"
    )
    # A campaign's prompts can be the client's confidential work: below `full`, no prompt leaves in a file.
    recipe_exposure = models.CharField(max_length=12, choices=RecipeExposure.choices, default=RecipeExposure.FULL)
    ai_label_placement = models.CharField(
        max_length=12,
        choices=LabelPlacement.choices,
        default=LabelPlacement.NONE,
        blank=True,
        help_text="Where a visible AI label is drawn on the file",
    )
    ai_label_text = models.CharField(max_length=80, blank=True, default="AI-generated")
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    access = Access(everyone_reads=True, studio_wide_writes=True)

    class Meta:
        ordering = ["position", "slug"]

    def __str__(self) -> str:
        return f"{self.name} ({self.width}x{self.height} {self.format})"

    def clean(self) -> None:
        super().clean()
        if self.colour_profile == self.Profile.CMYK and self.format not in (self.Format.JPEG, self.Format.TIFF):
            raise ValidationError(
                {"colour_profile": f"CMYK is written as JPEG or TIFF, not {self.get_format_display()}"}
            )
        if self.ai_label_placement and not self.ai_label_text.strip():
            raise ValidationError({"ai_label_text": "a visible AI label needs its wording (at most 80 characters)"})

    @property
    def extension(self) -> str:
        return {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "AVIF": "avif", "TIFF": "tif"}[self.format]

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]

    @property
    def dpi(self) -> float | None:
        """Pixels per inch for a print size: written into the file so layout software places it at that size."""
        return self.width / (self.print_width_mm / 25.4) if self.print_width_mm else None


class FocalPoint(models.Model):
    """Where crops centre on a version (fractions of width and height); the centre when none is set."""

    version = models.OneToOneField("assets.Version", on_delete=models.PROTECT, related_name="focal_point")
    x = models.FloatField(default=0.5, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    y = models.FloatField(default=0.5, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    access = Access(client="version__brief__campaign__client")

    def __str__(self) -> str:
        return f"focal point of v{self.version_id} at ({self.x:.2f}, {self.y:.2f})"


class Delivery(QueuedRun):
    """One job delivering an approved master to a set of presets: QC, variants, provenance, bundle."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        BLOCKED = "blocked", "Blocked by QC"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed"

    version = models.ForeignKey("assets.Version", on_delete=models.PROTECT, related_name="deliveries")
    approval = models.ForeignKey("review.Approval", on_delete=models.PROTECT, related_name="deliveries")
    presets = models.ManyToManyField(ChannelPreset, related_name="deliveries")
    name_template = models.CharField(max_length=200, default=DEFAULT_NAME_TEMPLATE)
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    qc = models.JSONField(default=list, blank=True, help_text="QC facts per preset, as measured")
    override_reason = models.TextField(blank=True)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    overridden_at = models.DateTimeField(null=True, blank=True)
    progress_step = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    folder = models.CharField(max_length=200, blank=True, help_text="Under the media root's deliveries folder")
    bundle_name = models.CharField(max_length=200, blank=True)
    bundle_sha256 = models.CharField(max_length=64, blank=True)
    bundle_size = models.BigIntegerField(null=True, blank=True)
    # The bundle is served from the blob store, so any host can hand it out: the worker's folder is only its local copy.
    bundle = models.ForeignKey("assets.Blob", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    wall_seconds = models.FloatField(null=True, blank=True)

    access = Access(client="version__brief__campaign__client", client_reads=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        permissions = [("override_qc", "Can let a delivery that failed QC go ahead, with a reason")]
        indexes = [models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"delivery #{self.pk} of v{self.version_id}"


class DeliveryItem(models.Model):
    """One delivered file: a variant version, stamped and signed, with its QC facts."""

    delivery = models.ForeignKey(Delivery, on_delete=models.PROTECT, related_name="items")
    preset = models.ForeignKey(ChannelPreset, on_delete=models.PROTECT, related_name="+")
    version = models.OneToOneField("assets.Version", on_delete=models.PROTECT, related_name="delivery_item")
    file_name = models.CharField(max_length=255)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=8)
    size = models.BigIntegerField()
    manifest_bytes = models.PositiveIntegerField(help_text="Bytes the EXIF and C2PA manifest added")
    manifest_state = models.CharField(max_length=20)
    qc = models.JSONField(default=dict, blank=True)

    access = Access(client="delivery__version__brief__campaign__client", client_reads=True)

    class Meta:
        ordering = ["delivery", "preset__position", "preset__slug"]
        constraints = [models.UniqueConstraint(fields=["delivery", "file_name"], name="delivery_file_name_once")]

    def __str__(self) -> str:
        return self.file_name


class Fingerprint(models.Model):
    """A 64-bit perceptual hash of a delivered or delivering version: finds stripped and re-encoded copies."""

    version = models.OneToOneField("assets.Version", on_delete=models.PROTECT, related_name="fingerprint")
    phash = models.BigIntegerField(db_index=True)

    access = Access(client="version__brief__campaign__client")

    def __str__(self) -> str:
        return f"fingerprint of v{self.version_id}"
