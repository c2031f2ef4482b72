"""Who wrote a row: a signed-in user or a guest behind a share link, never both."""

from django.db.models import Q


def user_or_link(user_field: str) -> Q:
    """Exactly one author: a signed-in user, or a guest behind a share link."""
    return Q(**{f"{user_field}__isnull": False, "share_link__isnull": True}) | Q(
        **{f"{user_field}__isnull": True, "share_link__isnull": False}
    )
