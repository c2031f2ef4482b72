from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from assets.access import LINEAGE, Access

from .base import AppendOnlyModel
from .validators import validate_aspect, validate_hex_colour

DEFAULT_NEGATIVE_PROMPT = "text, watermark, extra limbs, mushy face"


class Client(models.Model):
    name = models.CharField(max_length=200, unique=True)
    shares_lineage = models.BooleanField(
        default=False, help_text="The client's reviewers may also read prompts, jobs and derivations of its briefs"
    )
    requires_ai_disclosure = models.BooleanField(
        default=False,
        help_text="Every file delivered for this client must carry the AI marks (C2PA manifest, soft binding, IPTC AI "
        "fields), whatever the channel preset says",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    access = Access(client="id", client_reads=True, studio_wide_writes=True)

    class Meta:
        ordering = ["name"]
        permissions = [("see_all_clients", "Sees every client's briefs (studio staff)")]

    def __str__(self) -> str:
        return self.name


class Campaign(models.Model):
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="campaigns")
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    access = Access(client="client", client_reads=True)

    class Meta:
        ordering = ["client__name", "name"]
        constraints = [models.UniqueConstraint(fields=["client", "name"], name="campaign_unique_name_per_client")]

    def __str__(self) -> str:
        return f"{self.client} / {self.name}"


class Brief(models.Model):
    class ContentType(models.TextChoices):
        CAMPAIGN = "campaign", "Campaign"
        SOCIAL = "social", "Social"
        ECOMMERCE = "ecommerce", "E-commerce"

    class Channel(models.TextChoices):
        INSTAGRAM = "instagram", "Instagram"
        TIKTOK = "tiktok", "TikTok"
        YOUTUBE = "youtube", "YouTube"
        WEB = "web", "Web"
        ECOMMERCE = "ecommerce", "E-commerce"
        PRINT = "print", "Print"
        OUT_OF_HOME = "ooh", "Out of home"
        PRESENTATION = "presentation", "Presentation"

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="briefs")
    title = models.CharField(max_length=200)
    palette = ArrayField(models.CharField(max_length=7, validators=[validate_hex_colour]), default=list, blank=True)
    aspect = models.CharField(max_length=9, default="1:1", validators=[validate_aspect])
    channels = ArrayField(models.CharField(max_length=20, choices=Channel.choices), default=list, blank=True)

    class AiUse(models.TextChoices):
        NOT_ALLOWED = "notAllowed", "Not allowed"
        ALLOWED = "allowed", "Allowed"
        CONSTRAINED = "constrained", "Allowed with constraints (see notes)"

    content_type = models.CharField(max_length=20, choices=ContentType.choices, default=ContentType.CAMPAIGN)
    commercial_use = models.BooleanField(
        default=True,
        help_text="The work is for commercial use: delivery refuses inputs licensed for non-commercial use only",
    )
    ai_training = models.CharField(
        "AI training and data mining",
        max_length=20,
        choices=AiUse.choices,
        default=AiUse.NOT_ALLOWED,
        help_text="What delivered files tell AI crawlers, in their content credentials",
    )
    negative_prompt = models.TextField(default=DEFAULT_NEGATIVE_PROMPT, blank=True)
    required_copy = ArrayField(
        models.CharField(max_length=200),
        size=20,
        default=list,
        blank=True,
        help_text="Words the images must carry legibly (“SALE 50%”, the product name): read by OCR on review",
    )
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    access = Access(client="campaign__client", client_reads=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["campaign", "title"], name="brief_unique_title_per_campaign")]

    def __str__(self) -> str:
        return self.title

    @property
    def aspect_ratio(self) -> tuple[int, int]:
        width, height = self.aspect.split(":")
        return int(width), int(height)


class Reference(AppendOnlyModel):
    """A mood-board image: an entity generations may use (img2img, ControlNet, style)."""

    mutable_fields = frozenset({"title", "notes"})

    brief = models.ForeignKey(Brief, on_delete=models.PROTECT, related_name="references")
    blob = models.ForeignKey("assets.Blob", on_delete=models.PROTECT, related_name="references")
    title = models.CharField(max_length=200, blank=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=10)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    access = Access(client="brief__campaign__client", client_reads=True)

    class Meta:
        ordering = ["brief", "id"]
        constraints = [models.UniqueConstraint(fields=["brief", "blob"], name="reference_once_per_brief")]

    def __str__(self) -> str:
        return self.title or f"reference {self.pk}"


class PromptTemplate(AppendOnlyModel):
    """Prompt text with {placeholders}; `{{` and `}}` stand for literal braces."""

    mutable_fields = frozenset({"name"})

    brief = models.ForeignKey(Brief, on_delete=models.PROTECT, related_name="templates")
    name = models.CharField(max_length=200)
    text = models.TextField()
    negative_text = models.TextField(blank=True)
    placeholders = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    access = Access(client="brief__campaign__client", client_reads=LINEAGE)

    class Meta:
        ordering = ["brief", "id"]

    def __str__(self) -> str:
        return self.name


class Prompt(AppendOnlyModel):
    """Rendered prompt text with the placeholder values it came from; one row per distinct render."""

    brief = models.ForeignKey(Brief, on_delete=models.PROTECT, related_name="prompts")
    template = models.ForeignKey(
        PromptTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="prompts"
    )
    text = models.TextField()
    negative_text = models.TextField(blank=True)
    values = models.JSONField(default=dict, blank=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    access = Access(client="brief__campaign__client", client_reads=LINEAGE)

    class Meta:
        ordering = ["brief", "id"]
        constraints = [models.UniqueConstraint(fields=["brief", "digest"], name="prompt_unique_render_per_brief")]

    def __str__(self) -> str:
        return self.text[:80]
