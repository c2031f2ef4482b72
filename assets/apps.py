from django.apps import AppConfig


class AssetsConfig(AppConfig):
    name = "assets"
    verbose_name = "Assets and lineage"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.core.checks import register
        from django.db.models.signals import post_migrate, pre_save
        from PIL import Image

        from assets.demo import brief_stage, imports_stage
        from assets.hooks import demo_stage_register
        from assets.services.audit_checkpoints import checkpoint_schedule_ensure
        from assets.services.tokens import api_tokens_revoke_on_password_change
        from config.checks import settings_check

        # Pillow refuses images over twice this outright and warns above it; image_inspect turns the warning
        # into a refusal.
        Image.MAX_IMAGE_PIXELS = settings.SEED_MAX_IMAGE_PIXELS
        # The SEED_* environment is checked by every command that runs the system checks, migrate and qcluster too.
        register(settings_check, "seed")
        demo_stage_register(order=10, stage=brief_stage)
        # After generation registered the tiny models, so an imported recipe's models can match.
        demo_stage_register(order=25, stage=imports_stage)
        pre_save.connect(
            api_tokens_revoke_on_password_change,
            sender=get_user_model(),
            dispatch_uid="api_tokens_revoke_on_password_change",
        )
        post_migrate.connect(checkpoint_schedule_ensure, sender=self)
