from django.db import models

from assets.access import Access

from .base import AppendOnlyModel
from .validators import validate_sha256


class ModelWeights(AppendOnlyModel):
    """A registered model file or diffusers folder, addressed by sha256 (the registry, not the loader)."""

    class Kind(models.TextChoices):
        BASE = "base", "Base model"
        LORA = "lora", "LoRA"
        VAE = "vae", "VAE"
        CONTROLNET = "controlnet", "ControlNet"
        UPSCALER = "upscaler", "Upscaler"
        IP_ADAPTER = "ip_adapter", "IP-Adapter"
        IMAGE_ENCODER = "image_encoder", "Image encoder (CLIP vision, for IP-Adapters)"
        MATTING = "matting", "Background removal (ONNX matting / segmentation)"

    class Architecture(models.TextChoices):
        SD15 = "sd15", "Stable Diffusion 1.x"
        SDXL = "sdxl", "Stable Diffusion XL"
        FLUX1 = "flux1", "FLUX.1"
        FLUX1_KONTEXT = "flux1_kontext", "FLUX.1 Kontext (instruction edits)"
        FLUX1_FILL = "flux1_fill", "FLUX.1 Fill (inpaint, outpaint)"
        SD35 = "sd35", "Stable Diffusion 3.5"
        QWEN_IMAGE = "qwen_image", "Qwen-Image"
        QWEN_IMAGE_EDIT = "qwen_image_edit", "Qwen-Image-Edit"
        FLUX2_KLEIN = "flux2_klein", "FLUX.2 [klein]"
        ESRGAN = "esrgan", "ESRGAN / Real-ESRGAN (RRDBNet)"
        COMPACT = "compact", "Real-ESRGAN compact (SRVGGNet)"
        OTHER = "other", "Other"

    class Format(models.TextChoices):
        SAFETENSORS = "safetensors", "safetensors file"
        CHECKPOINT = "ckpt", "PyTorch checkpoint"
        DIFFUSERS = "diffusers", "diffusers folder"
        ONNX = "onnx", "ONNX model"
        GGUF = "gguf", "GGUF (quantised) file"

    mutable_fields = frozenset({"name", "notes"})

    kind = models.CharField(max_length=20, choices=Kind.choices)
    architecture = models.CharField(max_length=20, choices=Architecture.choices)
    name = models.CharField(max_length=200)
    source_name = models.CharField(max_length=300, blank=True)
    source_version = models.CharField(max_length=100, blank=True)
    sha256 = models.CharField(max_length=64, unique=True, validators=[validate_sha256])
    blake3 = models.CharField(
        max_length=64,
        blank=True,
        db_index=True,
        help_text="BLAKE3 of a single-file model, as InvokeAI names it (blank for folders)",
    )
    size = models.BigIntegerField()
    format = models.CharField(max_length=20, choices=Format.choices)
    # A single file is one blob; a diffusers folder is a manifest of {relative path: blob sha256}.
    blob = models.ForeignKey("assets.Blob", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    files = models.JSONField(default=dict, blank=True)
    scale = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Upscalers: the model's fixed factor (2 or 4)"
    )
    notes = models.TextField(blank=True)
    # A LoRA's header as its trainer wrote it (kohya, ai-toolkit, modelspec), read at registration into a bounded
    # story (assets.lora_story): the trainer's claims, which the page checks against this install where it can.
    training_story = models.JSONField(default=dict, blank=True)
    # The training derivation that made it here (its inputs are the images it learned from); empty for a file
    # registered from outside.
    trained_by = models.OneToOneField(
        "assets.Derivation", null=True, blank=True, on_delete=models.PROTECT, related_name="trained_weights"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # A LoRA trained here learned one client's images: it is that client's, like the images.
    access = Access(client="trained_by__brief__campaign__client", scoped_reads=True, studio_wide_writes=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name_plural = "model weights"
        indexes = [models.Index(fields=["kind", "architecture"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()}, {self.sha256[:10]})"

    @property
    def short_hash(self) -> str:
        """AUTOMATIC1111's "AutoV2" model hash: the first 10 hex of the sha256."""
        return self.sha256[:10]

    def delete(self, *args, **kwargs):
        """Unused weights may go (registered by mistake); used ones are refused by PROTECT on the edges."""
        return models.Model.delete(self, *args, **kwargs)
