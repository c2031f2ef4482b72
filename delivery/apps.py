from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    """Channel variants, QC, EXIF and signed C2PA provenance, bundles and verify, for approved versions in `assets`."""

    name = "delivery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from assets.hooks import (
            demo_prerequisite_register,
            demo_stage_register,
            upload_check_register,
            version_check_register,
            version_view_register,
        )
        from delivery import checks  # noqa: F401  (registers the deploy checks)
        from delivery.demo import delivery_stage, signer_ensure
        from delivery.demo_retouch import retouch_stage
        from delivery.provenance import upload_manifest_check
        from delivery.services.rights_watch import expiry_schedule_ensure
        from delivery.version_checks import brand_colour_findings, gamut_findings, print_ppi_findings
        from delivery.views import proof_url, slots_url

        upload_check_register(upload_manifest_check)
        for check in (print_ppi_findings, gamut_findings, brand_colour_findings):
            version_check_register(check)
        version_view_register(order=10, label="Soft proof", url=proof_url)
        version_view_register(order=20, label="Slots", url=slots_url)
        demo_stage_register(order=40, stage=delivery_stage)
        demo_stage_register(order=45, stage=retouch_stage)
        demo_prerequisite_register(signer_ensure)
        post_migrate.connect(expiry_schedule_ensure, sender=self)
