from django.apps import AppConfig


class GenerationConfig(AppConfig):
    """Diffusers jobs on the django-q2 worker; each output becomes a lineage node in `assets`."""

    name = "generation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        from generation.worker import worker_start

        post_spawn.connect(worker_start, dispatch_uid="seed-worker-start")
