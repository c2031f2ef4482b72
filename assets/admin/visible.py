"""The admin as each user may see it: rows, choices, inlines and list filters scoped by the model's declared
access, writes as it allows, and the hooks other apps use to extend the core's admins."""

from django.contrib import admin
from django.http import Http404

from assets.access import (
    client_scope,
    may_write,
    visible,
)
from assets.models import (
    Client,
)


def choices_scoped(form, *, user):
    """Every row a form offers to choose is one the user may see, whoever declared the field. A user bound to
    clients must also name one where a row may belong to a client or to none (a webhook endpoint with no client
    hears every client)."""
    bound = client_scope(user=user) is not None
    for field in form.fields.values():
        queryset = getattr(field, "queryset", None)
        if queryset is not None:
            field.queryset = visible(queryset, user=user)
            if bound and queryset.model is Client:
                field.required = True
    return form


class VisibleChoices:
    """A form built for one user (`user=`): its choices of rows are scoped by `choices_scoped`."""

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.current_user = user
        choices_scoped(self, user=user)


def _form_for(form_class, user):
    """The admin's form class, its choices scoped for this request's user (fields are copied per form instance, so
    scoping them there never touches a class another request shares)."""

    class Scoped(form_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            choices_scoped(self, user=user)

    Scoped.__name__ = form_class.__name__
    return Scoped


class VisibleRelatedListFilter(admin.RelatedFieldListFilter):
    """A list filter offering only the related rows the user may see."""

    def field_choices(self, field, request, model_admin):
        rows = visible(field.related_model._default_manager.all(), user=request.user)
        return field.get_choices(
            include_blank=False,
            ordering=self.field_admin_ordering(field, request, model_admin),
            limit_choices_to={"pk__in": rows.values("pk")},
        )


def _visible_filters(model, list_filter):
    for entry in list_filter:
        if isinstance(entry, str) and "__" not in entry and model._meta.get_field(entry).is_relation:
            yield entry, VisibleRelatedListFilter
        else:
            yield entry


class WritesByAccess:
    """Adding, changing and deleting rows, for admins and inlines alike, as the model's access allows (may_write)
    and then the user's permissions."""

    def has_add_permission(self, request, *args):
        return may_write(self.model, user=request.user) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return may_write(self.model, user=request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return may_write(self.model, user=request.user) and super().has_delete_permission(request, obj)


def viewer_panel(request, panel, *, description: str):
    """A read-only panel that depends on who looks, `panel(obj, viewer=user)`, bound to this request's user. The admin
    calls a read-only field with the object alone, and asks for its fields more than once a request, so the same
    callable comes back each time."""
    panels = request.__dict__.setdefault("_seed_viewer_panels", {})
    if description not in panels:

        def bound(obj):
            return panel(obj, viewer=request.user)

        bound.short_description = description
        panels[description] = bound
    return panels[description]


class VisibleAdmin(WritesByAccess, admin.ModelAdmin):
    """Rows the user may not see do not exist here: lists skip them, their pages are 404, and no form field, inline
    or list filter offers them (the model's declared access decides, see assets.access)."""

    # (panel, description) pairs another app adds (admin_extend): an object's page shows each as its viewer may see it.
    viewer_panels = ()

    def get_queryset(self, request):
        return visible(super().get_queryset(request), user=request.user)

    def get_form(self, request, obj=None, **kwargs):
        return _form_for(super().get_form(request, obj, **kwargs), request.user)

    def get_changelist_form(self, request, **kwargs):
        return _form_for(super().get_changelist_form(request, **kwargs), request.user)

    def get_list_filter(self, request):
        return list(_visible_filters(self.model, super().get_list_filter(request)))

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields + self._viewer_panels(request) if obj is not None else fields

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        # Without declared fields the admin derives them from the read-only ones, which already hold the panels.
        return [*fields, *self._viewer_panels(request)] if obj is not None and self.fields is not None else fields

    def _viewer_panels(self, request) -> list:
        return [viewer_panel(request, panel, description=description) for panel, description in self.viewer_panels]

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404(f"{opts.verbose_name} {object_id} does not exist")


class VisibleInline(WritesByAccess):
    """The inline's rows and choices, scoped as VisibleAdmin scopes its page's."""

    def get_queryset(self, request):
        return visible(super().get_queryset(request), user=request.user)

    def get_formset(self, request, obj=None, **kwargs):
        return super().get_formset(
            request, obj, **{**kwargs, "form": _form_for(kwargs.get("form", self.form), request.user)}
        )


def admin_extend(model, *, actions=(), readonly=(), viewer_panels=(), filters=(), permissions=None) -> None:
    """Let another app add actions, read-only panels and list filters to a core model's admin without re-registering it.

    `viewer_panels` are (panel, description) pairs for panels that depend on who looks: `panel(obj, viewer=user)`.
    `permissions` maps a name to a check of the request, for actions declared with `permissions=[name]`: the admin
    shows an action only to users its `has_<name>_permission` lets through.
    """
    model_admin = admin.site._registry[model]
    for name, check in (permissions or {}).items():
        setattr(model_admin, f"has_{name}_permission", check)
    model_admin.actions = [*(model_admin.actions or []), *actions]
    model_admin.list_filter = [*model_admin.list_filter, *filters]
    model_admin.readonly_fields = [*model_admin.readonly_fields, *readonly]
    model_admin.viewer_panels = [*model_admin.viewer_panels, *viewer_panels]
    if model_admin.fields is not None:
        model_admin.fields = [*model_admin.fields, *readonly]


class ReadOnlyAdmin(VisibleAdmin):
    """Lineage rows are append-only: they are made by services, and shown here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(VisibleInline, admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
