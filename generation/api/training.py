"""LoRA training through the API: "train a LoRA on these", its progress (step, loss), its samples and the LoRA."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from assets.access import versions_visible_to, visible
from assets.api.fields import VisibleRelatedField
from assets.api.permissions import internal_only
from assets.errors import ApplicationError
from assets.models import Brief, Derivation, ModelWeights, Used
from generation.api.serializers import JSONValueField
from generation.services.training import MAX_TRAINING_IMAGES, lora_training_cancel, lora_training_create


class TrainingCreateSerializer(serializers.Serializer):
    versions = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        min_length=1,
        max_length=MAX_TRAINING_IMAGES,
        help_text="The approved or kept versions to learn from, of one client",
    )
    base_model = VisibleRelatedField(
        queryset=ModelWeights.objects.filter(kind=ModelWeights.Kind.BASE),
        help_text="An SD 1.5, SDXL or FLUX.1 base model",
    )
    params = JSONValueField(
        help_text='{"name": "Aurora style", "rank": 16, "steps": 1500, "learning_rate": 0.0001, "seed": 42, …}; '
        "the rest from the operation's defaults (/api/operations/)"
    )
    captions = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        required=False,
        help_text="One per version, in order; by default the prompt that made each",
    )
    brief = VisibleRelatedField(
        queryset=Brief.objects.all(),
        required=False,
        help_text="Where the training is recorded, when the images come from several briefs",
    )


class TrainingSerializer(serializers.ModelSerializer):
    lora = serializers.SerializerMethodField(help_text="The registered LoRA, once the training succeeded")
    samples = serializers.SerializerMethodField(help_text="Sample versions, in the order they were made")
    training_images = serializers.SerializerMethodField(help_text="The versions it learns from, by position")
    base_model = serializers.SerializerMethodField()

    class Meta:
        model = Derivation
        fields = [
            "id",
            "brief",
            "state",
            "error",
            "params",
            "progress_step",
            "progress_total",
            "progress_log",
            "base_model",
            "training_images",
            "samples",
            "lora",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_lora(self, obj) -> int | None:
        weights = getattr(obj, "trained_weights", None)
        return weights.pk if weights is not None else None

    def get_samples(self, obj) -> list[int]:
        return [edge.version_id for edge in obj.generated.all()]

    def get_training_images(self, obj) -> list[int]:
        return [edge.version_id for edge in obj.used.all() if edge.role == Used.Role.TRAINING_IMAGE]

    def get_base_model(self, obj) -> int | None:
        return next((edge.model_weights_id for edge in obj.used.all() if edge.role == Used.Role.BASE_MODEL), None)


class TrainingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = TrainingSerializer
    filterset_fields = ["brief", "state"]

    def get_queryset(self):
        trainings = (
            Derivation.objects.filter(op="train_lora")
            .select_related("trained_weights")
            .prefetch_related(Prefetch("used", queryset=Used.objects.order_by("role", "position")), "generated")
        )
        return visible(trainings, user=self.request.user)

    @extend_schema(request=TrainingCreateSerializer, responses={201: TrainingSerializer})
    def create(self, request):
        internal_only(request, "assets.add_derivation")
        data = TrainingCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        body = data.validated_data
        found = versions_visible_to(user=request.user).select_related("brief__campaign").in_bulk(body["versions"])
        missing = [pk for pk in body["versions"] if pk not in found]
        if missing:
            raise ApplicationError(
                f"version(s) {', '.join(map(str, missing))} do not exist", extra={"versions": missing}
            )
        derivation = lora_training_create(
            versions=[found[pk] for pk in body["versions"]],
            base=body["base_model"],
            params=body["params"],
            captions=body.get("captions"),
            brief=body.get("brief"),
            created_by=request.user,
        )
        return Response(TrainingSerializer(self.get_queryset().get(pk=derivation.pk)).data, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=TrainingSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        internal_only(request, "assets.change_derivation")
        training = self.get_object()
        if not lora_training_cancel(derivation=training, cancelled_by=request.user):
            raise ApplicationError(f"training {training.pk} is {training.state}: only a queued or running one stops")
        return Response(TrainingSerializer(self.get_queryset().get(pk=training.pk)).data)
