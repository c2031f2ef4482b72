"""django-q2 tasks of the review app."""


def audit_checkpoint() -> str:
    from review.services.audit_checkpoints import audit_checkpoint_write

    return str(audit_checkpoint_write().path)
