"""Finishing from the version admin: any operation declared to start there, and the ones that need a form of their
own (background removal, vectorise, mask refine) or none (the palette snap)."""

from django import forms
from django.contrib import admin, messages

from assets.admin import VisibleChoices, admin_extend
from assets.admin_actions import action_form, studio_may
from assets.api.parsers import json_body_load
from assets.errors import ApplicationError
from assets.models import DerivedFile, ModelWeights, Version
from assets.operations import operation_get, operation_names
from generation.services.finishing import (
    finishing_create,
    mask_refine_create,
    matte_create,
    palette_snap_create,
    vectorise_create,
)


def _param_line(name: str) -> str:
    hints = [param.hint() for param in operation_get(name).given_params]
    return f"{name}: {', '.join(hints) or 'no parameters'}"


class FinishForm(VisibleChoices, forms.Form):
    op = forms.ChoiceField(label="Operation")
    params = forms.CharField(
        initial="{}",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='The operation\'s parameters as JSON, e.g. {"radius": 2.0, "percent": 120, "threshold": 3}',
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read when the form is made, so every operation declared to start from the admin is offered.
        names = operation_names(starts="admin")
        self.fields["op"].choices = [(name, operation_get(name).label) for name in names]
        self.fields["op"].help_text = "; ".join(_param_line(name) for name in names)

    def clean_params(self) -> dict:
        # Read as the API and the CLI read JSON: no NaN or Infinity, no nesting past what the decoders survive.
        try:
            params = json_body_load(raw=self.cleaned_data["params"], what="the parameters")
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc
        if not isinstance(params, dict):
            raise forms.ValidationError('the parameters are a JSON object: {"name": value, …}')
        return params


@admin.action(description="Finish selected versions (grade, sharpen, denoise, text …)…", permissions=["finish"])
def finish_versions(modeladmin, request, queryset):
    return action_form(
        modeladmin,
        request,
        queryset,
        form_class=FinishForm,
        title="Finish",
        note="Each version gets one finishing step, run by the worker; the parameters are checked before it is queued.",
        apply=lambda version, data: finishing_create(
            version=version, op=data["op"], params=data["params"], created_by=request.user
        ),
    )


@admin.action(description="Snap selected versions to the brief's palette", permissions=["finish"])
def snap_palette(modeladmin, request, queryset):
    for version in queryset:
        try:
            palette_snap_create(version=version, created_by=request.user)
        except ApplicationError as exc:
            modeladmin.message_user(request, f"v{version.pk}: {exc.message}", messages.ERROR)


class MatteForm(VisibleChoices, forms.Form):
    matting = forms.ModelChoiceField(
        queryset=ModelWeights.objects.filter(kind=ModelWeights.Kind.MATTING),
        help_text="A registered ONNX matting model",
    )
    model_family = forms.ChoiceField(
        choices=[("u2net", "U²-Net (320 px)"), ("isnet", "IS-Net (1024 px)"), ("birefnet", "BiRefNet (1024 px)")],
        initial="u2net",
    )
    grow = forms.IntegerField(initial=0, min_value=-100, max_value=100, help_text="Pixels; negative shrinks the mask")
    feather = forms.FloatField(initial=0.0, min_value=0.0, max_value=100.0, help_text="Edge softness in pixels")


@admin.action(description="Remove the background of selected versions…", permissions=["finish"])
def remove_background(modeladmin, request, queryset):
    return action_form(
        modeladmin,
        request,
        queryset,
        form_class=MatteForm,
        title="Remove background",
        note="Each version gets a cut-out version (PNG with alpha) and its mask, reusable for inpaint "
        "and composite layers.",
        apply=lambda version, data: matte_create(version=version, created_by=request.user, **data),
    )


class VectoriseForm(VisibleChoices, forms.Form):
    colour_mode = forms.ChoiceField(choices=[("color", "colour"), ("binary", "black and white")], initial="color")
    mode = forms.ChoiceField(
        choices=[("spline", "spline"), ("polygon", "polygon"), ("none", "pixel")], initial="spline"
    )
    filter_speckle = forms.IntegerField(
        initial=4, min_value=0, max_value=128, help_text="Drop patches under this size (px)"
    )
    colour_precision = forms.IntegerField(initial=6, min_value=1, max_value=8, help_text="Significant bits per channel")


@admin.action(description="Vectorise selected versions (SVG)…", permissions=["finish"])
def vectorise_versions(modeladmin, request, queryset):
    return action_form(
        modeladmin,
        request,
        queryset,
        form_class=VectoriseForm,
        title="Vectorise",
        note="For logos and flat graphics: the SVG is kept with the version and downloads as a file.",
        apply=lambda version, data: vectorise_create(version=version, options=data, created_by=request.user),
    )


class RefineForm(VisibleChoices, forms.Form):
    grow = forms.IntegerField(initial=0, min_value=-100, max_value=100, help_text="Pixels; negative shrinks the mask")
    feather = forms.FloatField(initial=0.0, min_value=0.0, max_value=100.0, help_text="Edge softness in pixels")


@admin.action(description="Refine selected masks (grow / shrink, feather)…", permissions=["finish"])
def refine_masks(modeladmin, request, queryset):
    return action_form(
        modeladmin,
        request,
        queryset,
        form_class=RefineForm,
        title="Refine masks",
        note="Each mask gets a refined copy; the original stays as it is.",
        apply=lambda mask, data: mask_refine_create(mask=mask, created_by=request.user, **data),
    )


# Versions and masks are never added by hand (their admins refuse "add"), so the actions carry permissions of their own.
admin_extend(
    Version,
    actions=[finish_versions, snap_palette, remove_background, vectorise_versions],
    permissions={"finish": studio_may("assets.add_derivation")},
)
admin_extend(DerivedFile, actions=[refine_masks], permissions={"finish": studio_may("assets.add_derivation")})
