from django.apps import AppConfig


class ReviewConfig(AppConfig):
    """Curation, review rounds and sign-off bound to the bytes of a version in `assets`."""

    name = "review"
    default_auto_field = "django.db.models.BigAutoField"
