"""Call holds (issue 19, call authorization): credit promised to calls in progress.

An authorization holds what it allowed until the call's CDR arrives (the ingestion deletes
the hold in its transaction) or `expires_at` passes (queries ignore it; a cleanup deletes
it). A hold is not money moved: the ledger is untouched until the CDR is rated.
"""

from django.db import models
from django.db.models import Q

from billtone.rating.cdr_models import RATE_DIGITS, RATE_PLACES


class CallHold(models.Model):
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="call_holds"
    )
    phone_user = models.ForeignKey(
        "telephony.PhoneUser",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="call_holds",
        help_text="Whose included minutes the hold takes.",
    )
    destination = models.CharField(max_length=16, help_text="E.164")
    call_id = models.CharField(max_length=255, blank=True, help_text="The switch's call id.")
    amount = models.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES)
    currency = models.CharField(max_length=3)
    seconds = models.PositiveIntegerField()
    included_seconds = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["account", "expires_at"], name="rating_hold_account_open"),
            models.Index(
                fields=["account", "destination", "created_at"], name="rating_hold_destination"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["call_id", "account"],
                condition=~Q(call_id=""),
                name="rating_hold_call_once",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="rating_hold_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Hold {self.amount} {self.currency} for {self.destination}"


class CallHoldTotal(models.Model):
    """The sum of an account's holds' amounts, expired or not, kept in step with them
    (decision 0033). Its row lock is the account's hold lock: every writer of the account's
    holds takes it (after the call-credit ledger row, when it takes that) and updates the
    sum in the same transaction. Readers subtract the holds expired and not purged yet."""

    account = models.OneToOneField(
        "accounts.Account",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="call_hold_total",
    )
    amount = models.DecimalField(max_digits=20, decimal_places=RATE_PLACES, default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="rating_hold_total_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Holds of account {self.account_id}: {self.amount}"


class CallHoldSeconds(models.Model):
    """The sum of a caller's holds' included seconds, expired or not, kept in step with them
    under its account's hold lock (CallHoldTotal; decision 0033)."""

    phone_user = models.OneToOneField(
        "telephony.PhoneUser",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="call_hold_seconds",
    )
    included_seconds = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(included_seconds__gte=0), name="rating_hold_seconds_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Holds of phone user {self.phone_user_id}: {self.included_seconds} s"
