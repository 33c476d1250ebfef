import base64
import secrets
import uuid

from django.db import models

from billtone.core import clock


class EmailDelivery(models.Model):
    """One email, stored before it is sent and retried until it is delivered.

    `key` names the event it is about (e.g. "funds-received:42"), so the same notification is
    never queued twice however often the code that queues it runs.

    Stored rendered (subject and bodies), or unrendered: `template` names a renderer
    (notifications.renderers) and `context` what it needs, and the email is rendered when it
    is sent, to `to_email` or, when that is empty, to the account's billing email of that
    moment; the text and address sent are then stored on the row.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"

    account = models.ForeignKey(
        "accounts.Account",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="email_deliveries",
    )
    key = models.CharField(max_length=200)  # unique: Meta.constraints
    to_email = models.EmailField(blank=True)
    subject = models.CharField(max_length=250, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    template = models.CharField(
        max_length=100, blank=True, help_text="rendered when sent by this registered renderer"
    )
    context = models.JSONField(default=dict, blank=True, help_text="what the renderer needs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "email deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [
            # A constraint, not unique=True: PostgreSQL would add a second index for LIKE.
            models.UniqueConstraint(fields=["key"], name="email_delivery_key_unique"),
            models.CheckConstraint(
                condition=~models.Q(template="") | ~models.Q(subject=""),
                name="email_delivery_rendered_or_template",
            ),
            models.CheckConstraint(
                condition=~models.Q(to_email="") | models.Q(account__isnull=False),
                name="email_delivery_has_a_recipient",
            ),
        ]

    def __str__(self) -> str:
        subject = self.subject or f"({self.template}, rendered when sent)"
        return f"{subject} → {self.to_email or 'billing email'} ({self.status})"


# The events Billtone sends to webhook endpoints (docs/architecture.md, "Webhooks").
WEBHOOK_EVENT_TYPES = {
    "items.allocated": "Phone users and numbers became active (bought, or free plans at once)",
    "items.cancelled": "Phone users and numbers were cancelled",
    "account.suspended": "An account's service was suspended (an invoice unpaid)",
    "account.reactivated": "A suspended account's service was given back",
    "users.plan_changed": "A phone user moved to another plan (the day it takes effect)",
}


def webhook_secret_new() -> str:
    """A Standard Webhooks secret: "whsec_" and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_msg_id_new() -> str:
    return f"msg_{uuid.uuid4().hex}"


class WebhookEndpoint(models.Model):
    """Where the operator's systems (the PBX) want events: a URL, the secret they verify our
    signatures with, and the event types they take (none listed: all)."""

    url = models.URLField(max_length=500, help_text="http(s) URL that receives a POST per event")
    secret = models.CharField(max_length=100, default=webhook_secret_new)
    event_types = models.JSONField(default=list, blank=True, help_text="none: every event")
    active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(secret__startswith="whsec_"), name="webhook_secret_whsec"
            ),
        ]

    def __str__(self) -> str:
        return self.description or self.url

    def takes(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class WebhookDelivery(models.Model):
    """One event for one endpoint, stored before it is sent and retried until the endpoint
    answers 2xx. `key` names the event (e.g. "items.allocated:checkout:42"): queuing it again
    returns the stored deliveries. `msg_id` is the `webhook-id` every attempt carries, so the
    receiver can tell a retry from a new event. While an attempt is under way its
    `next_attempt_at` is pushed ahead (a lease): no other run sends it meanwhile, and it is
    due again should the worker die."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries"
    )
    msg_id = models.CharField(max_length=40, default=webhook_msg_id_new)
    key = models.CharField(max_length=200)
    event_type = models.CharField(max_length=100)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # attempts made before the current schedule began (a resend starts a new one)
    schedule_from = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # set by the run that claimed an attempt, cleared when the attempt ends: "under way"
    sending_since = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "key"], name="webhook_delivery_key"),
            models.UniqueConstraint(fields=["msg_id"], name="webhook_delivery_msg_id"),
            models.CheckConstraint(
                condition=~models.Q(status="delivered") | models.Q(delivered_at__isnull=False),
                name="webhook_delivered_has_delivered_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint} ({self.status})"
