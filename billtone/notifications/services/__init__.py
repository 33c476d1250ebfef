"""Writes of the notifications app; import them from here.

- emails: emails stored as delivery rows, sent after commit, retried.
- webhooks: events signed as Standard Webhooks, one delivery per endpoint, sent after commit,
  retried with growing delays until the endpoint answers 2xx.
"""

from billtone.notifications.services.emails import (
    MAX_ATTEMPTS,
    billing_email_queue,
    billing_email_queue_unrendered,
    email_queue,
    email_queue_bulk,
    email_render,
    email_retry_due,
    email_send,
)
from billtone.notifications.services.webhooks import (
    RETRY_DELAYS,
    WebhookEndpointInput,
    webhook_delivery_resend,
    webhook_endpoint_clean,
    webhook_endpoint_save,
    webhook_event_queue,
    webhook_retry_due,
    webhook_send,
)

__all__ = [
    "MAX_ATTEMPTS",
    "RETRY_DELAYS",
    "WebhookEndpointInput",
    "billing_email_queue",
    "billing_email_queue_unrendered",
    "email_queue",
    "email_queue_bulk",
    "email_render",
    "email_retry_due",
    "email_send",
    "webhook_delivery_resend",
    "webhook_endpoint_clean",
    "webhook_endpoint_save",
    "webhook_event_queue",
    "webhook_retry_due",
    "webhook_send",
]
