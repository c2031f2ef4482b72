"""Training a LoRA from the admin: "Train a LoRA on these" on the versions list (a form with the recipe and one
caption per image), cancelling from the derivations list or a training's page, and the panels those pages show."""

from __future__ import annotations

import secrets

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from assets.admin import VisibleChoices, admin_extend, thumbnail
from assets.admin_actions import studio_may
from assets.errors import ApplicationError
from assets.models import Brief, Derivation, ModelWeights, Version
from assets.operations import operation_get
from generation.admin_training_panels import learned_from_panel, may_cancel, training_panel
from generation.operations.train_lora import DEFAULTS, TRAINABLE
from generation.services.training import MAX_NAME, caption_default, lora_training_cancel, lora_training_create

# The form's fields that are the operation's parameters, in the order the form shows them.
RECIPE = (
    "name",
    "rank",
    "steps",
    "learning_rate",
    "resolution",
    "seed",
    "batch_size",
    "bucketing",
    "train_text_encoder",
    "sample_every",
    "sample_prompt",
    "sample_steps",
)


def _number(value: float) -> str:
    """A bound as a person reads it: 4,294,967,295 and 0.0001, not 4.29497e+09."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


class TrainLoraForm(VisibleChoices, forms.Form):
    base_model = forms.ModelChoiceField(
        queryset=ModelWeights.objects.filter(kind=ModelWeights.Kind.BASE, architecture__in=TRAINABLE),
        help_text="A registered SD 1.5, SDXL or FLUX.1 base: the LoRA works with the models of its architecture",
    )
    brief = forms.ModelChoiceField(
        queryset=Brief.objects.select_related("campaign__client"),
        required=False,
        help_text="Where the training is recorded; empty: the brief the images come from",
    )
    name = forms.CharField(max_length=MAX_NAME, label="LoRA name")
    rank = forms.IntegerField(initial=16, help_text="The adapter's size: 4–16 for a style, 32+ for a subject")
    steps = forms.IntegerField(initial=1500)
    learning_rate = forms.FloatField(initial=DEFAULTS["learning_rate"])
    resolution = forms.IntegerField(initial=DEFAULTS["resolution"], help_text="Pixels per side, a multiple of 64")
    seed = forms.IntegerField()
    batch_size = forms.IntegerField(initial=DEFAULTS["batch_size"])
    bucketing = forms.BooleanField(
        required=False,
        initial=DEFAULTS["bucketing"],
        help_text="Keep each image's aspect ratio (batches of like shapes) instead of a square centre crop",
    )
    train_text_encoder = forms.BooleanField(
        required=False, initial=DEFAULTS["train_text_encoder"], label="Train the text encoder too"
    )
    sample_every = forms.IntegerField(
        initial=DEFAULTS["sample_every"], label="Sample every N steps", help_text="0: no samples"
    )
    sample_prompt = forms.CharField(required=False, help_text="Empty: the first image's caption")
    sample_steps = forms.IntegerField(initial=DEFAULTS["sample_steps"])

    def __init__(self, *args, versions: list[Version], **kwargs):
        super().__init__(*args, **kwargs)
        self.versions = versions
        # A fresh seed each time the form is drawn, shown so that it is recorded as chosen.
        self.fields["seed"].initial = secrets.randbelow(2**32)
        for param in operation_get("train_lora").params:
            field = self.fields.get(param.name)
            if field is not None and param.minimum is not None and not isinstance(field, forms.BooleanField):
                bounds = f"{_number(param.minimum)} to {_number(param.maximum)}"
                field.help_text = f"{field.help_text} ({bounds})" if field.help_text else bounds
        for version in versions:
            self.fields[self.caption_field(version)] = forms.CharField(
                required=False,
                initial=caption_default(version=version),
                widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
                label=f"Caption of v{version.pk}",
            )

    @staticmethod
    def caption_field(version: Version) -> str:
        return f"caption_{version.pk}"

    def recipe_fields(self) -> list:
        return [self[name] for name in ("base_model", "brief", *RECIPE)]

    def caption_rows(self) -> list[tuple]:
        return [
            (version, thumbnail(version.blob_id, 256, 96), self[self.caption_field(version)])
            for version in self.versions
        ]

    def training_create(self, user) -> Derivation:
        data = self.cleaned_data
        return lora_training_create(
            versions=self.versions,
            base=data["base_model"],
            params={name: data[name] for name in RECIPE if data[name] not in (None, "")},
            captions=[data[self.caption_field(version)] for version in self.versions],
            brief=data["brief"],
            created_by=user,
        )

    def error_show(self, exc: ApplicationError) -> None:
        """Beside the field it names (a caption by its position), else above the form."""
        param, position = exc.extra.get("param"), exc.extra.get("position")
        if param == "captions" and position is not None:
            param = self.caption_field(self.versions[position])
        self.add_error(param if param in self.fields else None, exc.message)


@admin.action(description="Train a LoRA on these…", permissions=["train"])
def train_lora_on_versions(modeladmin, request, queryset):
    versions = list(queryset.select_related("brief__campaign").order_by("pk"))
    confirmed = bool(request.POST.get("confirm"))
    form = TrainLoraForm(request.POST if confirmed else None, versions=versions, user=request.user)
    if confirmed and form.is_valid():
        try:
            derivation = form.training_create(request.user)
        except ApplicationError as exc:
            form.error_show(exc)
        else:
            modeladmin.message_user(
                request,
                f"Training of {derivation.params['name']} queued: {derivation.progress_total} steps on "
                f"{len(versions)} image(s).",
                messages.SUCCESS,
            )
            return redirect("admin:assets_derivation_change", derivation.pk)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"Train a LoRA on {len(versions)} image(s)",
        "form": form,
        "opts": modeladmin.model._meta,
        "action": request.POST.get("action"),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "generation/admin/train_lora_form.html", context)


@admin.action(description="Cancel the selected LoRA trainings", permissions=["cancel_training"])
def cancel_trainings(modeladmin, request, queryset):
    trainings = list(queryset.filter(op="train_lora"))
    cancelled = sum(lora_training_cancel(derivation=training, cancelled_by=request.user) for training in trainings)
    modeladmin.message_user(
        request,
        f"{cancelled} training(s) cancelled"
        + (f"; {len(trainings) - cancelled} had already ended" if cancelled < len(trainings) else "."),
        messages.SUCCESS if cancelled else messages.WARNING,
    )
    if request.POST.get("_from_training_page") and len(trainings) == 1:
        return redirect("admin:assets_derivation_change", trainings[0].pk)
    return None


admin_extend(
    Version,
    actions=[train_lora_on_versions],
    permissions={"train": studio_may("assets.add_derivation")},
)
admin_extend(
    Derivation,
    actions=[cancel_trainings],
    viewer_panels=[(training_panel, "training")],
    permissions={"cancel_training": lambda request: may_cancel(request.user)},
)
admin_extend(ModelWeights, viewer_panels=[(learned_from_panel, "learned from")])
