from django.apps import AppConfig


class GenerationConfig(AppConfig):
    """The worker: diffusers generation and finishing (upscale, LUT, grade …) on django-q2.

    Every output is a lineage node in `assets`.
    """

    name = "generation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Declares every operation into the core's registry before any derivation is recorded or read.
        from django_q.signals import post_spawn

        import generation.operations  # noqa: F401
        from assets.hooks import demo_stage_register, version_check_register
        from generation.copy_check import copy_check
        from generation.demo import generation_stage, grid_stage, imported_regeneration_stage, preparation_stage
        from generation.demo_copy import copy_overlay_stage
        from generation.demo_flux import flux_stage
        from generation.demo_training import training_stage
        from generation.machine_checks import halo_check, sharpness_check
        from generation.worker import worker_start

        post_spawn.connect(worker_start, dispatch_uid="seed-worker-start")
        for check in (sharpness_check, halo_check, copy_check):
            version_check_register(check)
        demo_stage_register(order=20, stage=generation_stage)
        # The master exists (20): the brief's copy drawn on it, for the review round's OCR check (30).
        demo_stage_register(order=24, stage=copy_overlay_stage)
        demo_stage_register(order=26, stage=flux_stage)
        demo_stage_register(order=27, stage=imported_regeneration_stage)
        demo_stage_register(order=28, stage=grid_stage)
        demo_stage_register(order=29, stage=preparation_stage)
        # After the client's approval (review, 30), before delivery (40): the LoRA learns what was approved.
        demo_stage_register(order=35, stage=training_stage)
