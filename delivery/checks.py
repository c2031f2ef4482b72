"""System checks for deployment: a signer or trust anchor that cannot be used is a configuration error.

Without usable trust anchors every genuine file would read as untrusted or invalid; `check --deploy`
fails instead, naming the setting.
"""

from __future__ import annotations

from django.core.checks import Error, Tags, register

CHECK_IDS = {"SEED_C2PA_CERT": "seed.E001", "SEED_C2PA_KEY": "seed.E002", "SEED_C2PA_TRUST_ANCHORS": "seed.E003"}


@register(Tags.security, deploy=True)
def signing_material_check(app_configs, **kwargs) -> list[Error]:
    from delivery.keys import signing_problems

    return [
        Error(
            f"{setting}: {problem}",
            hint="point it at a readable PEM file (manage.py c2pa_dev_ca makes a development signer)",
            id=CHECK_IDS[setting],
        )
        for setting, problem in signing_problems().items()
    ]
