"""django-q2 tasks: they take ids and are idempotent (the broker may deliver a task twice)."""


def run_delivery(delivery_id: int) -> str:
    from delivery.services.deliveries import delivery_execute

    return delivery_execute(delivery_id=delivery_id)


def licence_expiry_watch() -> str:
    from delivery.services.rights_watch import licence_expiry_check

    return f"{licence_expiry_check()} notice(s) made"
