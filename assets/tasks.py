"""django-q2 tasks of the core."""

import logging

logger = logging.getLogger(__name__)


def audit_checkpoint() -> str:
    """The daily checkpoint. An unusable signing key is a configuration error (`check --deploy` names it):
    retrying the task cannot mend it, so it is logged and the task ends; tomorrow's run tries again."""
    from assets.errors import ApplicationError
    from assets.services.audit_checkpoints import audit_checkpoint_write

    try:
        return str(audit_checkpoint_write().path)
    except ApplicationError as exc:
        logger.error("no audit checkpoint written: %s", exc.message)
        return f"not written: {exc.message}"


def machine_checks_run(version_id: int) -> int:
    """The machine-read checks of one version; returns how many facts were new."""
    from assets.services.machine_checks import machine_checks_run as run

    return len(run(version_id=version_id))
