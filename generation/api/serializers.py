from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assets.api.fields import VisibleModelSerializer, VisibleRelatedField
from assets.api.parsers import json_body_load
from assets.errors import ApplicationError
from assets.imagehash import RERUN_VERDICTS
from assets.models import (
    Brief,
    DerivedFile,
    ModelWeights,
    PromptTemplate,
    Reference,
    Version,
)
from generation.models import GenerationJob, ReproductionRun
from generation.services.jobs import GENERATION_OPS


@extend_schema_field(OpenApiTypes.ANY)
class JSONValueField(serializers.Field):
    """A JSON value, given as JSON in a JSON body or as a JSON string in a multipart form (where the mask is a file)."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                return json_body_load(raw=data, what="the value")
            except ApplicationError as exc:
                raise serializers.ValidationError(exc.message) from exc
        return data

    def to_representation(self, value):
        return value


def _ids_of(value, model):
    if not isinstance(value, list) or not all(isinstance(item, int) and not isinstance(item, bool) for item in value):
        raise serializers.ValidationError("expected a list of ids")
    found = model.objects.in_bulk(value)
    missing = [item for item in value if item not in found]
    if missing:
        raise serializers.ValidationError(f"no {model.__name__.lower()} with id {', '.join(map(str, missing))}")
    return [found[item] for item in value]


class LoraSerializer(serializers.Serializer):
    weights = VisibleRelatedField(queryset=ModelWeights.objects.filter(kind=ModelWeights.Kind.LORA))
    weight = serializers.FloatField(default=0.8)


class JobCreateSerializer(serializers.Serializer):
    brief = VisibleRelatedField(queryset=Brief.objects.all())
    op = serializers.ChoiceField(choices=GENERATION_OPS, default="txt2img")
    base_model = VisibleRelatedField(queryset=ModelWeights.objects.filter(kind=ModelWeights.Kind.BASE))
    template = VisibleRelatedField(queryset=PromptTemplate.objects.all(), required=False, allow_null=True)
    values_grid = JSONValueField(required=False, help_text="{placeholder: [value, …]}: one batch per combination")
    prompt = serializers.CharField(required=False, allow_blank=True, default="", help_text="Instead of a template")
    negative_prompt = serializers.CharField(required=False, allow_null=True, default=None)
    loras = JSONValueField(required=False, help_text='[{"weights": id, "weight": 0.8}, …]')
    params = JSONValueField(
        required=False, help_text="sampler, steps, cfg, seed, batch_size, width, height, strength …"
    )
    init_version = VisibleRelatedField(queryset=Version.objects.all(), required=False, allow_null=True)
    init_reference = VisibleRelatedField(queryset=Reference.objects.all(), required=False, allow_null=True)
    control_version = VisibleRelatedField(queryset=Version.objects.all(), required=False, allow_null=True)
    control_reference = VisibleRelatedField(queryset=Reference.objects.all(), required=False, allow_null=True)
    controlnet = VisibleRelatedField(
        queryset=ModelWeights.objects.filter(kind=ModelWeights.Kind.CONTROLNET), required=False, allow_null=True
    )
    vae = VisibleRelatedField(
        queryset=ModelWeights.objects.filter(kind=ModelWeights.Kind.VAE),
        required=False,
        allow_null=True,
        help_text="Replace the base model's VAE",
    )
    mask = serializers.FileField(required=False, help_text="Inpaint mask (white = change), the init image's size")
    mask_file = VisibleRelatedField(
        queryset=DerivedFile.objects.filter(kind=DerivedFile.Kind.MASK),
        required=False,
        allow_null=True,
        help_text="Instead of `mask`: a recorded mask (a matte's, an uploaded or refined one) of the init version",
    )
    ip_adapter = VisibleRelatedField(
        queryset=ModelWeights.objects.filter(kind=ModelWeights.Kind.IP_ADAPTER),
        required=False,
        allow_null=True,
        help_text="Image prompts: with `image_encoder`, and a colour lock or style references",
    )
    image_encoder = VisibleRelatedField(
        queryset=ModelWeights.objects.filter(kind=ModelWeights.Kind.IMAGE_ENCODER), required=False, allow_null=True
    )
    colour_lock = serializers.BooleanField(
        default=False, help_text="The brief's palette as a guide image for the IP-Adapter"
    )
    style_references = JSONValueField(
        required=False, help_text="[reference id, …]: mood-board images that condition the image"
    )
    style_versions = JSONValueField(required=False, help_text="[version id, …]: versions that condition the image")
    ip_adapter_scale = serializers.FloatField(
        required=False,
        min_value=0.0,
        max_value=2.0,
        help_text="How strongly the image prompts steer (0.6 when not given)",
    )

    def validate_loras(self, value):
        items = LoraSerializer(data=value or [], many=True, context=self.context)
        items.is_valid(raise_exception=True)
        return items.validated_data

    def validate_style_references(self, value):
        return _ids_of(value, Reference)

    def validate_style_versions(self, value):
        return _ids_of(value, Version)

    def validate(self, attrs):
        wanted = attrs.get("colour_lock") or attrs.get("style_references") or attrs.get("style_versions")
        if (attrs.get("ip_adapter") is None) != (attrs.get("image_encoder") is None):
            raise serializers.ValidationError({"image_encoder": "an IP-Adapter and its image encoder go together"})
        if wanted and attrs.get("ip_adapter") is None:
            raise serializers.ValidationError(
                {"ip_adapter": "a colour lock and style references need an IP-Adapter and its image encoder"}
            )
        return attrs

    def validate_values_grid(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("expected an object of placeholder: [values]")
        return value

    def validate_params(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("expected an object")
        return value


class RegenerateSerializer(serializers.Serializer):
    params = JSONValueField(
        required=False, help_text="Overrides of the recorded parameters (seed, steps, cfg, batch_size …)"
    )
    lora_weights = JSONValueField(required=False, help_text="{lora sha256: new weight}")


class OutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="version_id")
    index = serializers.IntegerField()
    seed = serializers.IntegerField(source="version.seed")
    thumbnail_url = serializers.SerializerMethodField()

    def get_thumbnail_url(self, edge) -> str:
        return reverse("blob-thumbnail", args=[edge.version.blob_id, 256])


class BatchSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    values = serializers.DictField()
    derivation = serializers.IntegerField(source="derivation_id")
    state = serializers.CharField(source="derivation.state")
    error = serializers.CharField(source="derivation.error")
    progress_step = serializers.IntegerField(source="derivation.progress_step")
    progress_total = serializers.IntegerField(source="derivation.progress_total")
    outputs = OutputSerializer(source="derivation.generated.all", many=True)


class JobSerializer(VisibleModelSerializer):
    batches = BatchSerializer(many=True, read_only=True)
    summary = serializers.SerializerMethodField()

    class Meta:
        model = GenerationJob
        fields = [
            "id",
            "brief",
            "op",
            "template",
            "values_grid",
            "regenerated_from",
            "request",
            "created_at",
            "summary",
            "batches",
        ]

    def get_summary(self, job) -> dict:
        from generation.selectors import job_summary

        return job_summary(job=job)


class ReproductionRequestSerializer(serializers.Serializer):
    record = serializers.BooleanField(default=False)
    threads = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=256)


class ReproductionRunSerializer(VisibleModelSerializer):
    class Meta:
        model = ReproductionRun
        fields = [
            "id",
            "version",
            "record",
            "threads",
            "state",
            "result",
            "error",
            "recorded_version",
            "created_at",
            "finished_at",
        ]


class RegenerationAttemptSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    derivation = serializers.IntegerField()
    state = serializers.CharField()
    version = serializers.IntegerField(allow_null=True)
    verdict = serializers.ChoiceField(choices=RERUN_VERDICTS, allow_null=True)
    distance = serializers.FloatField(allow_null=True, help_text="bits of the 64-bit perceptual hash that differ")


class GridCreateSerializer(serializers.Serializer):
    brief = VisibleRelatedField(queryset=Brief.objects.all())
    base_model = VisibleRelatedField(queryset=ModelWeights.objects.filter(kind=ModelWeights.Kind.BASE))
    prompt = serializers.CharField(max_length=5000)
    negative_prompt = serializers.CharField(required=False, allow_null=True, allow_blank=True, default=None)
    loras = JSONValueField(required=False, help_text='[{"weights": id, "weight": 0.8}, …]')
    vae = VisibleRelatedField(
        queryset=ModelWeights.objects.filter(kind=ModelWeights.Kind.VAE), required=False, allow_null=True
    )
    params = JSONValueField(required=False, help_text="the shared recipe: sampler, steps, cfg, seed, width, height")
    axes = JSONValueField(
        help_text='X first, up to 3: [{"kind": "cfg|steps|seed|sampler|model|vae|lora_weight|prompt_sr", '
        '"values": […], "lora": id (lora_weight)}]'
    )

    def validate_loras(self, value):
        items = LoraSerializer(data=value or [], many=True, context=self.context)
        items.is_valid(raise_exception=True)
        return items.validated_data

    def validate_params(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("expected an object of parameters")
        return value

    def validate_axes(self, value):
        if not isinstance(value, list):
            raise serializers.ValidationError("expected a list of axes")
        return value


class GridCellSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    coords = serializers.ListField(child=serializers.IntegerField())
    labels = serializers.ListField(child=serializers.CharField())
    state = serializers.CharField()
    version = serializers.IntegerField(allow_null=True)
    diff = serializers.ListField(
        child=serializers.DictField(), help_text="what this cell's recipe changes against the first's"
    )


class GridSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    brief = serializers.IntegerField(source="brief_id")
    axes = serializers.JSONField()
    created_at = serializers.DateTimeField()
    progress = serializers.SerializerMethodField()
    cells = serializers.SerializerMethodField()

    def get_progress(self, grid) -> dict:
        from generation.services.grids import grid_progress

        return grid_progress(grid=grid)

    @extend_schema_field(GridCellSerializer(many=True))
    def get_cells(self, grid) -> list[dict]:
        from generation.services.grids import grid_table

        return grid_table(grid=grid)
