"""django-q2 tasks of the review app."""


def send_notification(notification_id: int) -> str:
    from review.services.notifications import notification_send

    return notification_send(notification_id=notification_id)


def send_webhook(delivery_id: int) -> str:
    from review.services.notifications import webhook_send

    return webhook_send(delivery_id=delivery_id)


def review_clock() -> str:
    """Every minute: reminders before deadlines, overdue notices after them, webhook retries whose time has come."""
    from review.services.deadlines import deadlines_check
    from review.services.notifications import webhooks_due

    reminders, overdue = deadlines_check()
    return f"{reminders} reminder(s), {overdue} overdue notice(s), {webhooks_due()} webhook retr(ies)"


def notification_digest() -> str:
    from review.services.notifications import digests_send

    return f"{digests_send()} digest(s)"


def reproducibility_watch(budget_s: float | None = None) -> str:
    from review.services.drift import reproducibility_watch_run

    result = reproducibility_watch_run(budget_s=budget_s)
    return f"{result['checked']} checked, {result['skipped']} left for later"
