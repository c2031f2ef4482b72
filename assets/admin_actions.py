"""Admin actions other apps add to the core's admins: an intermediate form, and who among the staff may run one."""

from django.contrib import messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from assets.access import is_client_user
from assets.errors import ApplicationError


def action_form(modeladmin, request, queryset, *, form_class, title: str, note: str, apply):
    """An admin action with an intermediate form; `apply(item, cleaned)` runs per selected row."""
    if request.POST.get("confirm"):
        form = form_class(request.POST, user=request.user)
        if form.is_valid():
            done = 0
            for item in queryset:
                try:
                    apply(item, form.cleaned_data)
                    done += 1
                except ApplicationError as exc:
                    modeladmin.message_user(request, f"{item}: {exc.message}", messages.ERROR)
            if done:
                modeladmin.message_user(request, f"{title}: queued for {done} item(s).", messages.SUCCESS)
            return None
    else:
        form = form_class(user=request.user)
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "note": note,
        "items": queryset,
        "form": form,
        "action": request.POST.get("action"),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "opts": opts,
        "changelist_url": f"admin:{opts.app_label}_{opts.model_name}_changelist",
    }
    return TemplateResponse(request, "assets/admin/action_form.html", context)


def studio_may(permission: str):
    """A check for the studio's own staff holding `permission`: client users never run these, whatever their groups."""
    return lambda request: not is_client_user(user=request.user) and request.user.has_perm(permission)
