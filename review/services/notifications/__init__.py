"""Telling people a round needs them: notifications by e-mail and webhooks, made with the event, sent by the worker.

Rows are written inside the transaction of the event they tell about and sent once it commits. Each
row's `key` names the event for one recipient (or endpoint), so an event told twice, or by two
schedulers, makes one message. Sending goes through the one run lifecycle; see `notification_send`
for the guarantee around a crash between the SMTP server's acceptance and our record of it.
"""

from .mailer import digests_send, notification_send
from .messages import (
    Message,
    absolute,
    admin_round_link,
    notification_preference_set,
    notify_address,
    notify_guest,
    notify_user,
    producers,
    producers_notify,
)
from .webhooks import (
    webhook_endpoint_create,
    webhook_secret_rotate,
    webhook_send,
    webhook_signature,
    webhooks_due,
    webhooks_notify,
)

__all__ = [
    "digests_send",
    "notification_send",
    "Message",
    "absolute",
    "admin_round_link",
    "notification_preference_set",
    "notify_address",
    "notify_guest",
    "notify_user",
    "producers",
    "producers_notify",
    "webhook_endpoint_create",
    "webhook_secret_rotate",
    "webhook_send",
    "webhook_signature",
    "webhooks_due",
    "webhooks_notify",
]
