from django.core.files.storage import storages
from django.http import FileResponse
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import FormParser
from rest_framework.response import Response

from assets import rights, selectors
from assets.access import is_client_user, reads_lineage, versions_with_readable_lineage, visible
from assets.api import serializers as s
from assets.api.parsers import JSONParser, StrictMultiPartParser
from assets.api.permissions import ModelWritePermission, visible_row
from assets.models import (
    Brief,
    Campaign,
    Client,
    Derivation,
    DerivedFile,
    Licence,
    ModelWeights,
    Prompt,
    PromptTemplate,
    Reference,
    Used,
    Version,
)
from assets.parent_matching import ParentUnknown
from assets.services.briefs import (
    brief_create,
    campaign_create,
    client_create,
    reference_create,
)
from assets.services.derived_files import mask_upload
from assets.services.licences import licence_save
from assets.services.prompts import prompt_render, prompt_template_create
from assets.services.recipe_imports import images_import
from assets.services.versions import version_import


class VisibleQuerysetMixin:
    """Every row a viewset serves, lists and details alike, is one the model's access lets the caller read
    (others' rows are 404, not 403)."""

    def get_queryset(self):
        return visible(super().get_queryset(), user=self.request.user)


class ReadViewSet(VisibleQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [ModelWritePermission]
    write_model = None  # set per action when it creates another model than the viewset's


class ClientViewSet(mixins.CreateModelMixin, ReadViewSet):
    queryset = Client.objects.all()
    serializer_class = s.ClientSerializer
    search_fields = ["name"]

    def perform_create(self, serializer):
        serializer.instance = client_create(name=serializer.validated_data["name"])


class CampaignViewSet(mixins.CreateModelMixin, ReadViewSet):
    queryset = Campaign.objects.select_related("client")
    serializer_class = s.CampaignSerializer
    filterset_fields = ["client"]
    search_fields = ["name"]

    def perform_create(self, serializer):
        serializer.instance = campaign_create(**serializer.validated_data)


class BriefFilter(filters.FilterSet):
    client = filters.NumberFilter(field_name="campaign__client")

    class Meta:
        model = Brief
        fields = ["campaign", "client", "content_type", "aspect"]


class BriefViewSet(ReadViewSet):
    queryset = selectors.briefs_list()
    serializer_class = s.BriefSerializer
    filterset_class = BriefFilter
    search_fields = ["title", "notes"]
    ordering_fields = ["created_at", "title"]

    @extend_schema(request=s.BriefCreateSerializer, responses={201: s.BriefSerializer})
    def create(self, request):
        data = s.BriefCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        brief = brief_create(**data.validated_data, created_by=request.user)
        return Response(s.BriefSerializer(brief).data, status=status.HTTP_201_CREATED)


class ReferenceViewSet(ReadViewSet):
    queryset = Reference.objects.all()
    serializer_class = s.ReferenceSerializer
    parser_classes = [StrictMultiPartParser, FormParser]
    filterset_fields = ["brief", "format"]
    search_fields = ["title", "notes"]

    @extend_schema(request=s.ReferenceCreateSerializer, responses={201: s.ReferenceSerializer})
    def create(self, request):
        data = s.ReferenceCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        reference = reference_create(
            brief=values["brief"],
            source=values["image"],
            title=values["title"],
            notes=values["notes"],
            created_by=request.user,
        )
        return Response(s.ReferenceSerializer(reference).data, status=status.HTTP_201_CREATED)


class DerivedFileViewSet(ReadViewSet):
    """Masks (from a matte, refined, or uploaded) and SVGs: files of the lineage that are not image versions."""

    queryset = DerivedFile.objects.select_related("blob", "derivation")
    serializer_class = s.DerivedFileSerializer
    parser_classes = [StrictMultiPartParser, FormParser]
    filterset_fields = ["brief", "source", "kind", "derivation"]

    @extend_schema(request={"multipart/form-data": s.MaskUploadSerializer}, responses={201: s.DerivedFileSerializer})
    def create(self, request):
        data = s.MaskUploadSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        version = visible_row(request, Version, values["source"].pk)
        mask = mask_upload(version=version, source=values["file"], label=values["label"], created_by=request.user)
        return Response(s.DerivedFileSerializer(mask).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        """The file as an attachment, never shown inline: an SVG can carry script, so it also comes sandboxed."""
        item = self.get_object()
        extension = {"image/svg+xml": "svg", "image/png": "png"}.get(item.blob.media_type, "bin")
        response = FileResponse(
            storages["blobs"].open(item.blob.storage_name, "rb"),
            as_attachment=True,
            filename=f"{item.kind}-{item.pk}-of-v{item.source_id}.{extension}",
            content_type=item.blob.media_type,
        )
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class PromptTemplateViewSet(mixins.CreateModelMixin, ReadViewSet):
    queryset = PromptTemplate.objects.all()
    serializer_class = s.PromptTemplateSerializer
    filterset_fields = ["brief"]
    search_fields = ["name", "text"]

    def perform_create(self, serializer):
        serializer.instance = prompt_template_create(**serializer.validated_data, created_by=self.request.user)

    @extend_schema(request=s.PromptRenderSerializer, responses={201: s.PromptSerializer})
    @action(detail=True, methods=["post"], write_model=Prompt)
    def render(self, request, pk=None):
        data = s.PromptRenderSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        prompt = prompt_render(template=self.get_object(), values=data.validated_data["values"])
        return Response(s.PromptSerializer(prompt).data, status=status.HTTP_201_CREATED)


class PromptViewSet(ReadViewSet):
    queryset = Prompt.objects.all()
    serializer_class = s.PromptSerializer
    filterset_fields = ["brief", "template"]
    search_fields = ["text"]


class ModelWeightsViewSet(ReadViewSet):
    queryset = ModelWeights.objects.all()
    serializer_class = s.ModelWeightsSerializer
    # The studio's model registry is not client data, but client users have no business in it.
    filterset_fields = ["kind", "architecture", "format", "sha256"]
    search_fields = ["name", "source_name"]

    def get_serializer_class(self):
        # A LoRA's training story and its checks are one model's detail: the list stays a page of short rows.
        return s.ModelWeightsDetailSerializer if self.action == "retrieve" else s.ModelWeightsSerializer


class LicenceViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, ReadViewSet):
    """The studio's licences: what each covers (delivery's …/impact/ lists every version and delivery that inherits
    it)."""

    queryset = Licence.objects.prefetch_related("model_weights", "references", "versions")
    serializer_class = s.LicenceSerializer
    filterset_fields = ["commercial_use", "spdx_id"]
    search_fields = ["name", "spdx_id", "attribution"]

    def perform_create(self, serializer):
        serializer.instance = licence_save(values=dict(serializer.validated_data), actor=self.request.user)

    def perform_update(self, serializer):
        if not self.request.user.has_perm("assets.change_licence"):
            raise PermissionDenied("you need the assets.change_licence permission to change a licence")
        serializer.instance = licence_save(
            values=dict(serializer.validated_data), licence=serializer.instance, actor=self.request.user
        )


class RecipeNumberFilter(filters.NumberFilter):
    """A number compared with one inside the recipe's JSON parameters: as a float, since JSON has no decimals."""

    def filter(self, qs, value):
        return super().filter(qs, None if value is None else float(value))


class VersionFilter(filters.FilterSet):
    """Find a version by its words and its recipe; every filter is part of the one query that lists the page."""

    q = filters.CharFilter(
        method="text",
        max_length=500,
        help_text='Words of the prompt, negative prompt, notes or comments ("a phrase", -not, or)',
    )
    seed = filters.NumberFilter()
    model = filters.CharFilter(
        method="base_model",
        max_length=200,
        help_text="Base model: name, full sha256, or the 10-hex AutoV2 hash A1111 prints",
    )
    lora = filters.CharFilter(method="lora_weights", max_length=200, help_text="LoRA: name, full sha256 or AutoV2 hash")
    sampler = filters.CharFilter(field_name="generated_by__derivation__params__sampler")
    steps = RecipeNumberFilter(field_name="generated_by__derivation__params__steps")
    cfg_min = RecipeNumberFilter(field_name="generated_by__derivation__params__cfg", lookup_expr="gte")
    cfg_max = RecipeNumberFilter(field_name="generated_by__derivation__params__cfg", lookup_expr="lte")
    created_after = filters.DateFilter(field_name="created_at__date", lookup_expr="gte")
    created_before = filters.DateFilter(field_name="created_at__date", lookup_expr="lte")
    client = filters.NumberFilter(field_name="brief__campaign__client")
    campaign = filters.NumberFilter(field_name="brief__campaign")
    op = filters.CharFilter(field_name="generated_by__derivation__op")

    class Meta:
        model = Version
        fields = ["brief", "status", "triage", "format"]

    RECIPE_FILTERS = ("seed", "model", "lora", "sampler", "steps", "cfg_min", "cfg_max")

    def filter_queryset(self, queryset):
        if any(self.form.cleaned_data.get(name) not in (None, "") for name in self.RECIPE_FILTERS):
            queryset = versions_with_readable_lineage(queryset, user=self.request.user)
        return super().filter_queryset(queryset)

    def text(self, queryset, name, value):
        return selectors.versions_matching_text(
            versions=queryset, text=value, internal=not is_client_user(user=self.request.user)
        )

    def base_model(self, queryset, name, value):
        return selectors.versions_made_with(versions=queryset, term=value, roles=(Used.Role.BASE_MODEL,))

    def lora_weights(self, queryset, name, value):
        return selectors.versions_made_with(versions=queryset, term=value, roles=(Used.Role.LORA,))


class VersionViewSet(ReadViewSet):
    queryset = selectors.versions_list()
    serializer_class = s.VersionSerializer
    filterset_class = VersionFilter
    ordering_fields = ["created_at", "id"]
    parser_classes = [JSONParser, StrictMultiPartParser, FormParser]

    def _with_lineage(self) -> Version:
        """The version, for those who may read how it was made; for a client without lineage sharing, not found."""
        version = self.get_object()
        if not reads_lineage(user=self.request.user, brief=version.brief):
            raise NotFound(f"the lineage of version {version.pk} is not shared with you")
        return version

    @extend_schema(request=s.VersionImportSerializer, responses={201: s.VersionSerializer})
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[StrictMultiPartParser, FormParser])
    def import_file(self, request):
        """One outside file; a retouch brought back finds its parent from its credentials unless `parent` names it
        (409 with the candidates when Seed cannot decide: pass parent=<id> or parent=none)."""
        data = s.VersionImportSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        parent = values["parent"]
        try:
            version = version_import(
                brief=values["brief"],
                source=values["image"],
                parents=[parent] if isinstance(parent, Version) else values["parents"],
                references=[*values["references"], *values["pool_versions"]],
                note=values["note"],
                label=values["label"],
                licences=values["licences"],
                created_by=request.user,
                find_parent=parent is None,
            )
        except ParentUnknown as exc:
            return Response({"message": exc.message, "extra": exc.extra}, status=status.HTTP_409_CONFLICT)
        return Response(s.VersionSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ImagesImportSerializer, responses={201: s.ImageImportReportSerializer(many=True)})
    @action(
        detail=False, methods=["post"], url_path="import-images", parser_classes=[StrictMultiPartParser, FormParser]
    )
    def import_images(self, request):
        """Images from other tools with the recipe their metadata holds, and retouches brought back to their parent:
        a report per file; 400 when none imports, 409 when a file's parent must be named (`parent`)."""
        data = s.ImagesImportSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        parent = data.validated_data["parent"]
        reports = images_import(
            brief=data.validated_data["brief"],
            sources=data.validated_data["files"],
            licences=data.validated_data["licences"],
            created_by=request.user,
            parent=parent if isinstance(parent, Version) else None,
            find_parent=parent is None,
        )
        if not any(report["imported"] for report in reports):
            asked = any(report["code"] == "parent_unknown" for report in reports)
            return Response(
                {
                    "message": "no file was imported: " + "; ".join(f"{r['file']}: {r['error']}" for r in reports),
                    "extra": {"reports": reports},
                },
                status=status.HTTP_409_CONFLICT if asked else status.HTTP_400_BAD_REQUEST,
            )
        return Response(reports, status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.LineageSerializer)
    @action(detail=True, methods=["get"])
    def lineage(self, request, pk=None):
        return Response(selectors.lineage_graph(version=self._with_lineage()).as_dict())

    @extend_schema(responses=s.RightsSerializer)
    @action(detail=True, methods=["get"])
    def rights(self, request, pk=None):
        """The licences the version inherits from its whole ancestry, what they forbid today, and whether it still
        reproduces."""
        version = self._with_lineage()
        inherited = rights.version_rights(version=version)
        latest = rights.reproducibility_latest(version=version)
        return Response(
            {
                "licences": [item.as_dict() for item in inherited],
                "problems": rights.rights_problems(rights=inherited, brief=version.brief, on=timezone.localdate()),
                "attribution": [item.licence.attribution for item in inherited if item.licence.attribution],
                "reproducibility": s.ReproducibilityCheckSerializer(latest).data if latest else None,
            }
        )

    @extend_schema(responses=s.ReproducibilityCheckSerializer(many=True))
    @action(detail=True, methods=["get"])
    def reproducibility(self, request, pk=None):
        """Every check of the reproducibility watch on this version, newest first."""
        checks = self._with_lineage().reproducibility_checks.all()[:100]
        return Response(s.ReproducibilityCheckSerializer(checks, many=True).data)

    @extend_schema(responses=s.VersionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def descendants(self, request, pk=None):
        versions = selectors.version_descendants(version=self._with_lineage()).select_related(
            "brief__campaign__client", "generated_by__derivation"
        )
        return Response(s.VersionSerializer(versions, many=True, context=self.get_serializer_context()).data)


class DerivationViewSet(ReadViewSet):
    queryset = Derivation.objects.all()
    serializer_class = s.DerivationSerializer
    filterset_fields = ["brief", "op", "phase", "state"]
