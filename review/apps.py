from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ReviewConfig(AppConfig):
    """Curation, review rounds and sign-off bound to the bytes of a version in `assets`."""

    name = "review"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        from assets.hooks import demo_stage_register, download_check_register
        from review.demo import notifications_stage, review_stage
        from review.roles import roles_ensure
        from review.selectors import client_download_check
        from review.services.deadlines import schedules_ensure
        from review.services.drift import watch_on_worker_start, watch_schedule_ensure

        post_migrate.connect(roles_ensure, sender=self)
        post_migrate.connect(schedules_ensure, sender=self)
        post_migrate.connect(watch_schedule_ensure, sender=self)
        # Connected after generation's worker_start (generation is ready first), which loads the stack this reads.
        post_spawn.connect(watch_on_worker_start, dispatch_uid="seed-watch-on-worker-start")
        download_check_register(client_download_check)
        demo_stage_register(order=30, stage=review_stage)
        demo_stage_register(order=90, stage=notifications_stage)
