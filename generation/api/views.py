from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser
from rest_framework.response import Response
from rest_framework.views import APIView

from assets.access import briefs_visible_to, reads_lineage, versions_visible_to, visible
from assets.api.parsers import JSONParser, StrictMultiPartParser
from assets.api.permissions import internal_only, visible_row
from generation.api import serializers as s
from generation.comfyui import comfyui_workflow
from generation.models import GenerationJob, GridJob, ReproductionRun
from generation.requests import DEFAULT_IP_ADAPTER_SCALE, GenerationRequest, ImagePrompt, LoraSpec
from generation.services.grids import (
    grid_cancel,
    grid_create,
    grid_sheet_make,
)
from generation.services.imported import imported_regenerate, regeneration_attempts
from generation.services.jobs import generation_job_cancel, generation_job_create, generation_job_regenerate
from generation.services.reproductions import reproduction_request


def _visible(request, obj):
    """A referenced object as the caller may see it (None stays None)."""
    return None if obj is None else visible_row(request, type(obj), obj.pk)


def _generation_request(*, request, body: dict) -> GenerationRequest:
    """The job a validated request body asks for, with every object it names as the caller may see it."""
    brief = get_object_or_404(briefs_visible_to(user=request.user), pk=body["brief"].pk)
    image_prompt = body.get("ip_adapter") and ImagePrompt(
        adapter=body["ip_adapter"],
        encoder=body["image_encoder"],
        colour_lock=body["colour_lock"],
        references=tuple(
            _visible(request, item) for item in [*body.get("style_references", []), *body.get("style_versions", [])]
        ),
        scale=body.get("ip_adapter_scale", DEFAULT_IP_ADAPTER_SCALE),
    )
    mask_file = _visible(request, body.get("mask_file"))
    return GenerationRequest(
        brief=brief,
        op=body["op"],
        base_model=body["base_model"],
        params=body.get("params"),
        template=body.get("template"),
        values_grid=body.get("values_grid"),
        prompt_text=body["prompt"],
        negative_prompt=body["negative_prompt"],
        loras=tuple(LoraSpec(weights=item["weights"], weight=item["weight"]) for item in body.get("loras") or []),
        init=_visible(request, body.get("init_version") or body.get("init_reference")),
        mask_source=body.get("mask"),
        control=_visible(request, body.get("control_version") or body.get("control_reference")),
        controlnet=body.get("controlnet"),
        vae=body.get("vae"),
        image_prompt=image_prompt,
        mask_file=mask_file,
    )


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.JobSerializer
    filterset_fields = ["brief", "op"]
    parser_classes = [JSONParser, StrictMultiPartParser, FormParser]

    def get_queryset(self):
        jobs = GenerationJob.objects.prefetch_related("batches__derivation__generated__version")
        return visible(jobs, user=self.request.user)

    @extend_schema(request=s.JobCreateSerializer, responses={201: s.JobSerializer})
    def create(self, request):
        internal_only(request, "generation.add_generationjob")
        data = s.JobCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        job = generation_job_create(
            request=_generation_request(request=request, body=data.validated_data), created_by=request.user
        )
        return Response(s.JobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.JobSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        internal_only(request, "generation.change_generationjob")
        job = self.get_object()
        generation_job_cancel(job=job, cancelled_by=request.user)
        return Response(s.JobSerializer(self.get_queryset().get(pk=job.pk)).data)


class GridViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """X/Y/Z comparison grids: create, watch the progress with each cell's recipe diff, cancel, make the sheet (the
    review app opens a round of the cells: …/round/)."""

    serializer_class = s.GridSerializer
    filterset_fields = ["brief"]

    def get_queryset(self):
        return visible(GridJob.objects.all(), user=self.request.user)

    @extend_schema(request=s.GridCreateSerializer, responses={201: s.GridSerializer})
    def create(self, request):
        internal_only(request, "generation.add_generationjob")
        data = s.GridCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        v = data.validated_data
        grid = grid_create(
            brief=get_object_or_404(briefs_visible_to(user=request.user), pk=v["brief"].pk),
            base_model=v["base_model"],
            prompt_text=v["prompt"],
            negative_prompt=v["negative_prompt"],
            vae=v.get("vae"),
            params=v.get("params") or {},
            loras=[LoraSpec(weights=item["weights"], weight=item["weight"]) for item in v.get("loras") or []],
            axes=v["axes"],
            created_by=request.user,
        )
        return Response(s.GridSerializer(grid).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.GridSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        internal_only(request, "generation.change_generationjob")
        grid = self.get_object()
        grid_cancel(grid=grid, cancelled_by=request.user)
        return Response(s.GridSerializer(grid).data)

    @extend_schema(request=None, responses=s.GridSerializer)
    @action(detail=True, methods=["post"])
    def sheet(self, request, pk=None):
        """The labelled grid sheet, once every cell is made (a version of op grid that uses every cell)."""
        internal_only(request, "generation.add_generationjob")
        grid = self.get_object()
        grid_sheet_make(grid=grid, created_by=request.user)
        return Response(s.GridSerializer(GridJob.objects.get(pk=grid.pk)).data)


class VersionRegenerateView(APIView):
    @extend_schema(request=s.RegenerateSerializer, responses={201: s.JobSerializer})
    def post(self, request, pk):
        internal_only(request, "generation.add_generationjob")
        version = get_object_or_404(versions_visible_to(user=request.user), pk=pk)
        data = s.RegenerateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        job = generation_job_regenerate(
            version=version,
            params=data.validated_data.get("params"),
            lora_weights=data.validated_data.get("lora_weights"),
            created_by=request.user,
        )
        return Response(s.JobSerializer(job).data, status=status.HTTP_201_CREATED)


class VersionRegenerateImportView(APIView):
    @extend_schema(request=None, responses={201: s.JobSerializer})
    def post(self, request, pk):
        """Regenerate in Seed: run the recipe another tool wrote into an imported image, on our worker."""
        internal_only(request, "generation.add_generationjob")
        version = get_object_or_404(versions_visible_to(user=request.user), pk=pk)
        job = imported_regenerate(version=version, created_by=request.user)
        return Response(s.JobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.RegenerationAttemptSerializer(many=True))
    def get(self, request, pk):
        """The regenerations so far, each with the perceptual verdict and distance against the import: lineage, read
        where the lineage is readable."""
        version = get_object_or_404(versions_visible_to(user=request.user), pk=pk)
        if not reads_lineage(user=request.user, brief=version.brief):
            raise NotFound(f"the lineage of version {version.pk} is not shared with you")
        return Response(regeneration_attempts(version=version))


class VersionComfyWorkflowView(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request, pk):
        """The version's recipe as a ComfyUI API-format workflow (txt2img or img2img, with its LoRA chain)."""
        internal_only(request, "assets.view_derivation")
        version = get_object_or_404(versions_visible_to(user=request.user), pk=pk)
        response = Response(comfyui_workflow(version=version))
        response["Content-Disposition"] = f'attachment; filename="seed_v{version.pk}_comfyui_api.json"'
        return response


class VersionReproduceView(APIView):
    @extend_schema(request=s.ReproductionRequestSerializer, responses={202: s.ReproductionRunSerializer})
    def post(self, request, pk):
        internal_only(request, "generation.add_reproductionrun")
        version = get_object_or_404(versions_visible_to(user=request.user), pk=pk)
        data = s.ReproductionRequestSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        run = reproduction_request(
            version=version,
            record=data.validated_data["record"],
            threads=data.validated_data.get("threads"),
            requested_by=request.user,
        )
        return Response(s.ReproductionRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class ReproductionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.ReproductionRunSerializer
    filterset_fields = ["version", "state"]

    def get_queryset(self):
        return visible(ReproductionRun.objects.all(), user=self.request.user)
