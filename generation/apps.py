from django.apps import AppConfig


class GenerationConfig(AppConfig):
    """Diffusers jobs on the django-q2 worker; each output becomes a lineage node in `assets`."""

    name = "generation"
    default_auto_field = "django.db.models.BigAutoField"
