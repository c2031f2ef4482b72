from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from assets.access import is_client_user
from assets.admin import (
    ReadOnlyAdmin,
    VisibleAdmin,
    admin_extend,
    thumbnail,
)
from assets.errors import ApplicationError
from assets.models import Version
from generation import admin_finishing, admin_training  # noqa: F401  (the finishing and training actions and pages)
from generation.admin_job_form import JobForm
from generation.models import GenerationJob, GridJob, ReproductionRun
from generation.selectors import job_summary
from generation.services.grids import (
    grid_cancel,
    grid_progress,
    grid_sheet_make,
    grid_table,
)
from generation.services.jobs import (
    generation_job_cancel,
    generation_job_regenerate,
)
from generation.services.reproductions import reproduction_request


@admin.register(GenerationJob)
class GenerationJobAdmin(VisibleAdmin):
    list_display = ["id", "brief", "op", "state", "progress", "outputs", "created_by", "created_at"]
    list_filter = ["op", ("brief", admin.RelatedOnlyFieldListFilter)]
    actions = ["cancel_jobs"]
    readonly_fields = [
        "brief",
        "op",
        "template",
        "values_grid",
        "regenerated_from",
        "request",
        "created_by",
        "created_at",
        "batches_panel",
    ]
    fields = [
        "batches_panel",
        "brief",
        "op",
        "template",
        "values_grid",
        "regenerated_from",
        "request",
        "created_by",
        "created_at",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("batches__derivation__generated__version")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def add_view(self, request, form_url="", extra_context=None):
        """The request form: validated by the job service, which writes nothing when anything is wrong."""
        if not self.has_add_permission(request) or is_client_user(user=request.user):
            raise PermissionDenied("you may not start generation jobs")
        form = JobForm(request.POST or None, request.FILES or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                job = form.job_create(request.user)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"Job #{job.pk} queued: {job.batches.count()} batch(es).", messages.SUCCESS)
                return redirect("admin:generation_generationjob_change", job.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "New generation job",
            "form": form,
            "opts": self.model._meta,
            "has_file_field": True,
        }
        return TemplateResponse(request, "generation/admin/job_form.html", context)

    @admin.display(description="state")
    def state(self, obj):
        return job_summary(job=obj)["state"]

    @admin.display(description="progress")
    def progress(self, obj):
        summary = job_summary(job=obj)
        total = summary["progress_total"] or 1
        return format_html(
            '<progress value="{}" max="{}"></progress> {}/{}',
            summary["progress_step"],
            total,
            summary["progress_step"],
            summary["progress_total"],
        )

    @admin.display(description="outputs")
    def outputs(self, obj):
        edges = [edge for batch in obj.batches.all() for edge in batch.derivation.generated.all()]
        return format_html_join("", "{}", ((thumbnail(edge.version.blob_id, 96, 40),) for edge in edges[:12])) or "—"

    @admin.display(description="batches")
    def batches_panel(self, obj):
        rows = []
        for batch in obj.batches.all():
            derivation = batch.derivation
            images = format_html_join(
                "",
                '<a href="{}">{}</a>',
                (
                    (
                        reverse("admin:assets_version_change", args=[edge.version_id]),
                        thumbnail(edge.version.blob_id, 256, 128),
                    )
                    for edge in derivation.generated.all()
                ),
            )
            rows.append(
                format_html(
                    "<tr><td>{}</td><td>{}</td><td>{} {}/{}</td><td>{}</td><td>{}</td></tr>",
                    batch.index,
                    ", ".join(f"{k}: {v}" for k, v in batch.values.items()) or "—",
                    derivation.state,
                    derivation.progress_step,
                    derivation.progress_total,
                    derivation.error or "",
                    images or "—",
                )
            )
        summary = job_summary(job=obj)
        return format_html(
            "<p>{} · {} s wall · {} GPU-s</p><table><tr><th>#</th><th>values</th><th>state</th><th>error</th>"
            "<th>outputs</th></tr>{}</table>",
            summary["state"],
            summary["wall_seconds"],
            summary["gpu_seconds"],
            mark_safe("".join(rows)),
        )

    @admin.action(description="Cancel selected jobs", permissions=["view"])
    def cancel_jobs(self, request, queryset):
        if not request.user.has_perm("generation.change_generationjob"):
            self.message_user(request, "You may not cancel jobs.", messages.ERROR)
            return
        cancelled = sum(generation_job_cancel(job=job, cancelled_by=request.user) for job in queryset)
        self.message_user(request, f"{cancelled} batch(es) cancelled.", messages.SUCCESS)


@admin.register(ReproductionRun)
class ReproductionRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "version", "state", "verdict", "distance", "differs", "record", "created_at"]
    list_filter = ["state"]

    @admin.display(description="verdict")
    def verdict(self, obj):
        return obj.result.get("verdict", "—")

    @admin.display(description="distance")
    def distance(self, obj):
        return obj.result.get("distance", "—")

    @admin.display(description="environment differs in")
    def differs(self, obj):
        return ", ".join(item["field"] for item in obj.result.get("fingerprint_diff", [])) or "—"


@admin.action(description="Regenerate with new seeds (same recipe)", permissions=["view"])
def regenerate_versions(modeladmin, request, queryset):
    if is_client_user(user=request.user) or not request.user.has_perm("generation.add_generationjob"):
        modeladmin.message_user(request, "You may not start generation jobs.", messages.ERROR)
        return
    for version in queryset:
        try:
            job = generation_job_regenerate(version=version, created_by=request.user)
        except ApplicationError as exc:
            modeladmin.message_user(request, f"v{version.pk}: {exc.message}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"v{version.pk}: job #{job.pk} queued.", messages.SUCCESS)


@admin.action(description="Reproduce from the lineage (verdict in Reproduction runs)", permissions=["view"])
def reproduce_versions(modeladmin, request, queryset):
    if is_client_user(user=request.user) or not request.user.has_perm("generation.add_reproductionrun"):
        modeladmin.message_user(request, "You may not reproduce versions.", messages.ERROR)
        return
    runs = [reproduction_request(version=version, requested_by=request.user) for version in queryset]
    modeladmin.message_user(request, f"{len(runs)} reproduction(s) queued.", messages.SUCCESS)


admin_extend(Version, actions=[regenerate_versions, reproduce_versions])


@admin.register(GridJob)
class GridJobAdmin(ReadOnlyAdmin):
    """A comparison grid as a table: X values across, Y down, one block per Z value; each cell with what its recipe
    changes against the first cell's. Actions make the sheet once every cell is made, or cancel what still runs."""

    list_display = ["id", "__str__", "brief", "state", "created_by", "created_at"]
    list_filter = [("brief", admin.RelatedOnlyFieldListFilter)]
    actions = ["make_sheets", "cancel_grids"]
    readonly_fields = ["grid_table", "brief", "sheet_preview", "request", "created_by", "created_at"]
    fields = readonly_fields

    @admin.display(description="state")
    def state(self, obj):
        progress = grid_progress(grid=obj)
        return f"{progress['state']} ({progress['done']} of {progress['cells']} cells)"

    @admin.display(description="sheet")
    def sheet_preview(self, obj):
        if obj.sheet_id is None:
            return "not made yet (action: make the grid sheet)"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:assets_version_change", args=[obj.sheet_id]),
            thumbnail(obj.sheet.blob_id, 768, 512),
        )

    @admin.display(description="cells")
    def grid_table(self, obj):
        table = grid_table(grid=obj)
        axes = obj.axes
        columns = axes[0]["values"]
        rows = axes[1]["values"] if len(axes) > 1 else [{"label": ""}]
        blocks = axes[2]["values"] if len(axes) > 2 else [{"label": ""}]
        by_coords = {tuple(cell["coords"]): cell for cell in table}
        versions = {v.pk: v for v in Version.objects.filter(pk__in=[c["version"] for c in table if c["version"]])}
        html = []
        for z, block in enumerate(blocks):
            header = format_html_join("", "<th>{}</th>", ((column["label"],) for column in columns))
            body = []
            for y, row in enumerate(rows):
                cells = []
                for x in range(len(columns)):
                    cell = by_coords[(x, y, z)]
                    version = versions.get(cell["version"])
                    picture = (
                        format_html(
                            '<a href="{}">{}</a>',
                            reverse("admin:assets_version_change", args=[version.pk]),
                            thumbnail(version.blob_id),
                        )
                        if version
                        else cell["state"]
                    )
                    diff = format_html_join(
                        mark_safe("<br>"), "{}: {} → {}", ((d["field"], d["first"], d["here"]) for d in cell["diff"])
                    )
                    cells.append(format_html("<td>{}<br><small>{}</small></td>", picture, diff or "the first cell"))
                body.append(format_html("<tr><th>{}</th>{}</tr>", row["label"], mark_safe("".join(cells))))
            title = f"{axes[2]['label']}: {block['label']}" if len(axes) > 2 else ""
            html.append(
                format_html(
                    "<p><b>{}</b></p><table><tr><th>{} ↓ / {} →</th>{}</tr>{}</table>",
                    title,
                    axes[1]["label"] if len(axes) > 1 else "",
                    axes[0]["label"],
                    header,
                    mark_safe("".join(body)),
                )
            )
        return mark_safe("".join(html))

    def has_grid_permission(self, request):
        return request.user.has_perm("generation.add_generationjob") and not is_client_user(user=request.user)

    @admin.action(description="Make the grid sheet of the selected grids", permissions=["grid"])
    def make_sheets(self, request, queryset):
        for grid in queryset:
            try:
                grid_sheet_make(grid=grid, created_by=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"{grid}: {exc.message}", messages.ERROR)

    @admin.action(description="Cancel the cells still queued or running", permissions=["grid"])
    def cancel_grids(self, request, queryset):
        cancelled = sum(grid_cancel(grid=grid, cancelled_by=request.user) for grid in queryset)
        self.message_user(request, f"{cancelled} cell(s) cancelled")
