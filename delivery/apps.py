from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    """Finishing, channel variants, EXIF and C2PA provenance for approved versions in `assets`."""

    name = "delivery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from delivery import checks  # noqa: F401  (registers the deploy checks)
