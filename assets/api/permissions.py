from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from assets.access import is_client_user, may_write, visible


class ModelWritePermission(BasePermission):
    """Anyone signed in may read (rows are scoped by client); writing needs the model's add permission.

    Client reviewers hold no add permissions on the lineage core, so they can look but not create.
    """

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in SAFE_METHODS:
            return True
        model = view.write_model or view.get_queryset().model
        return may_write(model, user=request.user) and request.user.has_perm(
            f"{model._meta.app_label}.add_{model._meta.model_name}"
        )


def internal_only(request, permission: str) -> None:
    """Studio-side actions: client users are refused whatever permissions their groups carry."""
    if is_client_user(user=request.user) or not request.user.has_perm(permission):
        raise PermissionDenied(f"you need the {permission} permission for this")


def visible_row(request, model, pk):
    """The row `pk` of `model` if the caller may see it. Otherwise a 404 worded as for a row that does not exist, so a
    row of another client cannot be told from a missing one."""
    found = visible(model.objects.filter(pk=pk), user=request.user).first()
    if found is None:
        raise NotFound(f"{model.__name__.lower()} {pk} does not exist")
    return found
