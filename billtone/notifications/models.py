from django.db import models


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
