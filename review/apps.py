from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ReviewConfig(AppConfig):
    """Curation, review rounds and sign-off bound to the bytes of a version in `assets`."""

    name = "review"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from assets.hooks import (
            audit_writer_register,
            demo_stage_register,
            producer_notifier_register,
        )
        from review.demo import notifications_stage, review_stage
        from review.roles import roles_ensure
        from review.services.audit import audit_event_append
        from review.services.audit_checkpoints import checkpoint_schedule_ensure
        from review.services.deadlines import schedules_ensure
        from review.services.notifications import producers_notify

        post_migrate.connect(roles_ensure, sender=self)
        post_migrate.connect(checkpoint_schedule_ensure, sender=self)
        post_migrate.connect(schedules_ensure, sender=self)
        demo_stage_register(order=30, stage=review_stage)
        demo_stage_register(order=90, stage=notifications_stage)
        audit_writer_register(audit_event_append)
        producer_notifier_register(producers_notify)
