"""What a derivation takes in: references, prompt templates, prompts and model weights (delivery adds each input's
impact panel)."""

from django import forms
from django.contrib import admin, messages

from assets.admin.display import thumbnail
from assets.admin.training_story import training_story_panel
from assets.admin.visible import ReadOnlyAdmin, VisibleAdmin
from assets.errors import ApplicationError
from assets.models import (
    ModelWeights,
    Prompt,
    PromptTemplate,
    Reference,
)
from assets.services.briefs import reference_create
from assets.services.prompts import prompt_template_create
from assets.services.weights import model_weights_delete


class ReferenceAddForm(forms.ModelForm):
    image = forms.FileField(help_text="PNG, JPEG or WebP; checked and stored by its sha256")

    class Meta:
        model = Reference
        fields = ["brief", "title", "notes"]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.instance = reference_create(
                brief=cleaned["brief"],
                source=cleaned["image"],
                title=cleaned.get("title", ""),
                notes=cleaned.get("notes", ""),
            )
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc
        return cleaned


@admin.register(Reference)
class ReferenceAdmin(VisibleAdmin):
    list_display = ["preview", "title", "brief", "width", "height", "format", "created_at"]
    list_filter = [("brief", admin.RelatedOnlyFieldListFilter), "format"]
    search_fields = ["title", "notes", "blob__sha256"]
    list_select_related = ["brief"]
    readonly_fields = ["large_preview", "brief", "blob", "width", "height", "format", "created_by", "created_at"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ReferenceAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return super().get_readonly_fields(request, obj) if obj else []

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["brief", "image", "title", "notes"]
        return [
            "large_preview",
            "title",
            "notes",
            "brief",
            "blob",
            "width",
            "height",
            "format",
            "created_by",
            "created_at",
            *self._viewer_panels(request),
        ]

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=[name for name in form.changed_data if name in Reference.mutable_fields])

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="")
    def preview(self, obj):
        return thumbnail(obj.blob_id)

    @admin.display(description="preview")
    def large_preview(self, obj):
        return thumbnail(obj.blob_id, 768, 512)


class PromptTemplateForm(forms.ModelForm):
    negative_text = forms.CharField(
        widget=forms.Textarea, required=False, help_text="Leave empty to use the brief's negative prompt."
    )

    class Meta:
        model = PromptTemplate
        fields = ["brief", "name", "text", "negative_text"]
        help_texts = {"text": "Placeholders in braces, e.g. {subject}, {camera action}; {{ and }} for literal braces."}

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.instance = prompt_template_create(
                brief=cleaned["brief"],
                name=cleaned["name"],
                text=cleaned["text"],
                negative_text=cleaned.get("negative_text") or None,
            )
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc
        return cleaned


@admin.register(PromptTemplate)
class PromptTemplateAdmin(VisibleAdmin):
    list_display = ["name", "brief", "placeholder_list", "created_at"]
    list_filter = [("brief", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "text"]
    list_select_related = ["brief"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = PromptTemplateForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return ["brief", "text", "negative_text", "placeholders", "created_by", "created_at"] if obj else []

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["brief", "name", "text", "negative_text"]
        return ["name", "brief", "text", "negative_text", "placeholders", "created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=[name for name in form.changed_data if name in PromptTemplate.mutable_fields])

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="placeholders")
    def placeholder_list(self, obj):
        return ", ".join("{" + name + "}" for name in obj.placeholders)


@admin.register(Prompt)
class PromptAdmin(ReadOnlyAdmin):
    list_display = ["id", "text", "negative_text", "brief", "template", "created_at"]
    list_filter = [("brief", admin.RelatedOnlyFieldListFilter), ("template", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["text", "negative_text"]
    list_select_related = ["brief", "template"]


@admin.register(ModelWeights)
class ModelWeightsAdmin(VisibleAdmin):
    """Studio-wide registry: not client data, and client roles hold no permission on it."""

    list_display = ["name", "kind", "architecture", "format", "short_hash", "size", "created_at"]
    list_filter = ["kind", "architecture", "format"]
    search_fields = ["name", "source_name", "sha256"]
    readonly_fields = [
        "kind",
        "architecture",
        "sha256",
        "size",
        "format",
        "blob",
        "files",
        "source_name",
        "source_version",
        "created_at",
    ]
    fields = ["name", "notes", *readonly_fields]
    viewer_panels = [(training_story_panel, "training story")]  # the training images shown are the viewer's

    def has_add_permission(self, request):
        return False  # registering hashes files on the server: `manage.py register_model`

    def save_model(self, request, obj, form, change):
        obj.save(update_fields=[name for name in form.changed_data if name in ModelWeights.mutable_fields])

    def delete_model(self, request, obj):
        model_weights_delete(weights=obj)

    def delete_queryset(self, request, queryset):
        for weights in queryset:
            try:
                model_weights_delete(weights=weights)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
