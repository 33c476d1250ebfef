"""Dunning: one row per open bill that a try failed to collect (docs/decisions/0020). It
says how many of the operator's `dunning_days` tries were made, when the next one is due and
why the last one failed; `suspended` marks the invoice its account was suspended for."""

from django.db import models
from django.db.models import Q


class Dunning(models.Model):
    invoice = models.OneToOneField(
        "invoicing.Invoice", on_delete=models.PROTECT, related_name="dunning"
    )
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="+")
    tries = models.PositiveSmallIntegerField(default=0, help_text="dunning tries made")
    next_try_at = models.DateTimeField(
        null=True, blank=True, help_text="empty: no further try (paid, or the last one failed)"
    )
    last_failure = models.TextField(blank=True)
    last_try_at = models.DateTimeField(null=True, blank=True)
    suspended = models.BooleanField(
        default=False, help_text="its account was suspended for this invoice"
    )
    settled_at = models.DateTimeField(null=True, blank=True, help_text="paid (any way)")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["next_try_at", "id"]
        indexes = [
            models.Index(fields=["next_try_at"], name="dunning_next_try"),
            models.Index(fields=["account", "suspended"], name="dunning_account_suspended"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(tries__lte=50), name="dunning_tries_bounded"),
        ]

    def __str__(self) -> str:
        return f"Dunning of invoice {self.invoice_id}: {self.tries} tries"
