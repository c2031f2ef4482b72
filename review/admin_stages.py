"""Review templates in the admin: a template's stages edited inline, checked as a whole before anything is saved,
and assigned to a brief on its review policy."""

from django import forms
from django.contrib import admin
from django.contrib.auth.models import Group

from assets.admin import VisibleAdmin
from assets.admin.visible import VisibleInline
from assets.errors import ApplicationError
from review.models import ReviewStage, ReviewTemplate
from review.services.templates import template_steps_check


class StageFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.cleaned_data.get("name")
        ]
        try:
            template_steps_check(steps=[stage["step"] for stage in kept])
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc


def _group_names() -> list[tuple[str, str]]:
    return [(name, name) for name in Group.objects.order_by("name").values_list("name", flat=True)]


class StageForm(forms.ModelForm):
    decider_groups = forms.MultipleChoiceField(
        choices=_group_names,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Decider groups",
        help_text="Every active member of these groups decides (client stages: the brief's client's members only)",
    )

    class Meta:
        model = ReviewStage
        fields = "__all__"


class ReviewStageInline(VisibleInline, admin.StackedInline):
    model = ReviewStage
    form = StageForm
    formset = StageFormSet
    extra = 0
    min_num = 1
    fields = [
        ("step", "name", "audience"),
        ("rule", "deadline_days", "at_deadline", "downloads"),
        "deciders",
        "decider_groups",
    ]


@admin.register(ReviewTemplate)
class ReviewTemplateAdmin(VisibleAdmin):
    """Reusable by name: a brief's review policy names the template its rounds run through."""

    list_display = ["name", "stages_in_order", "briefs"]
    search_fields = ["name"]
    inlines = [ReviewStageInline]

    @admin.display(description="stages")
    def stages_in_order(self, obj) -> str:
        steps: dict[int, list[str]] = {}
        for stage in obj.stages.all():
            steps.setdefault(stage.step, []).append(stage.name)
        return " → ".join(" ∥ ".join(names) for _, names in sorted(steps.items()))

    @admin.display(description="briefs using it")
    def briefs(self, obj) -> int:
        return obj.policies.count()
