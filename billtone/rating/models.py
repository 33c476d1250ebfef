"""Rating's tables (issue 19): rate decks and their rates.

A deck is the operator's price list for calls in one currency, taking effect at a moment
(`effective_from`, possibly in the future). The rate in force for a call is the one of the
deck of the account's currency with the latest `effective_from` at or before the call's start.
A deck is written once, all or nothing, by the deck import; its rates are never edited (a new
price is a new deck).
"""

from django.db import models
from django.db.models import F, Q

from billtone.core.money import Money

RATE_DIGITS = 14
RATE_PLACES = 4  # money.RATING_PLACES: decks price calls in sub-cents


class RateDeck(models.Model):
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3)
    effective_from = models.DateTimeField(help_text="The deck prices calls started from then on.")
    source_name = models.CharField(max_length=255, blank=True, help_text="The imported file.")
    rate_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["currency", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "effective_from"], name="rate_deck_one_per_moment"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency}, from {self.effective_from:%Y-%m-%d %H:%M})"


class Rate(models.Model):
    """One prefix's price: per minute, plus a connection fee, charged in increments.

    Billable seconds: 0 for a call of 0 seconds; otherwise at least `initial_increment`, then
    whole `subsequent_increment`s (60/60 is per minute, 1/1 per second, 30/6 common).
    """

    deck = models.ForeignKey(RateDeck, on_delete=models.CASCADE, related_name="rates")
    prefix = models.CharField(max_length=16, help_text="E.164 digits, no '+': 31, 3120, 447.")
    destination = models.CharField(max_length=200)
    per_minute = models.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES)
    connection_fee = models.DecimalField(
        max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, default=0
    )
    initial_increment = models.PositiveSmallIntegerField(default=60)
    subsequent_increment = models.PositiveSmallIntegerField(default=60)

    class Meta:
        ordering = ["deck", "prefix"]
        constraints = [
            models.UniqueConstraint(fields=["deck", "prefix"], name="rate_prefix_once_per_deck"),
            models.CheckConstraint(
                condition=Q(per_minute__gte=0) & Q(connection_fee__gte=0),
                name="rate_prices_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(initial_increment__gte=1) & Q(subsequent_increment__gte=1),
                name="rate_increments_positive",
            ),
            models.CheckConstraint(
                condition=~Q(prefix=""),
                name="rate_prefix_not_empty",
            ),
        ]

    def __str__(self) -> str:
        return f"+{self.prefix} {self.destination}"


# Auto top-up (issue 19 item 4) --------------------------------------------------------------

MONEY_DIGITS = 18
MONEY_PLACES = 4


class AutoTopUp(models.Model):
    """One account's auto top-up settings and state (the Billing panel's Auto top-up page).

    `value` is the net call credit one top-up step adds, chosen from the operator's Manual
    Topup amounts; when the call credit (balance above its floor) falls below `threshold`, one
    top-up of the fewest whole steps that bring it back above the threshold is made. The
    low-credit email is sent once when the credit falls below `low_credit_level` and re-armed
    when it is above it again. Written by rating.services.topup only.
    """

    account = models.OneToOneField(
        "accounts.Account", on_delete=models.CASCADE, related_name="auto_top_up"
    )
    enabled = models.BooleanField(default=False)
    currency = models.CharField(max_length=3)
    value = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=0)
    threshold = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, default=0)
    low_credit_level = models.DecimalField(
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_PLACES,
        null=True,
        blank=True,
        help_text="Email the customer once when call credit falls below this; empty: never.",
    )
    low_credit_notified = models.BooleanField(default=False)
    consecutive_failures = models.PositiveSmallIntegerField(default=0)
    turned_off_reason = models.CharField(max_length=300, blank=True)
    turned_off_at = models.DateTimeField(null=True, blank=True)
    paused_reason = models.CharField(
        max_length=300, blank=True, help_text="Why the last check made no top-up (a cap)."
    )
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(value__gte=0) & Q(threshold__gte=0), name="auto_top_up_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(enabled=False) | (Q(value__gt=0) & Q(threshold__gt=0)),
                name="auto_top_up_enabled_has_value",
            ),
            models.CheckConstraint(
                condition=Q(low_credit_level__isnull=True) | Q(low_credit_level__gte=0),
                name="auto_top_up_low_credit_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"Auto top-up of account {self.account_id} ({'on' if self.enabled else 'off'})"


class TopUpStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class TopUpPaidBy(models.TextChoices):
    FUNDS = "business_funds", "Business funds"
    CARD = "card", "Card"
    NONE = "none", "Not paid"


# pending → succeeded | failed; settled rows never change again.
TOP_UP_TRANSITIONS = {
    TopUpStatus.PENDING: {TopUpStatus.SUCCEEDED, TopUpStatus.FAILED},
    TopUpStatus.SUCCEEDED: set(),
    TopUpStatus.FAILED: set(),
}


class TopUp(models.Model):
    """One automatic top-up: `amount` of call credit (net: `quantity` × `unit_value`), paid
    with `gross` (net plus tax) from business funds or the default card, invoiced.

    At most one is pending per account (a partial unique index): two checks at once cannot
    both charge. `idempotency_key` keys its card payment, ledger transaction and invoice.
    """

    Status = TopUpStatus
    PaidBy = TopUpPaidBy

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="top_ups"
    )
    currency = models.CharField(max_length=3)
    unit_value = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    quantity = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    gross = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    credit_before = models.DecimalField(
        max_digits=MONEY_DIGITS,
        decimal_places=MONEY_PLACES,
        help_text="Call credit above its floor when the top-up was decided.",
    )
    paid_by = models.CharField(max_length=20, choices=TopUpPaidBy.choices)
    status = models.CharField(max_length=20, choices=TopUpStatus.choices)
    invoice = models.ForeignKey(
        "invoicing.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    payment = models.ForeignKey(
        "payments.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    failure_message = models.CharField(max_length=500, blank=True)
    idempotency_key = models.CharField(max_length=100)
    created_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "created_at"], name="top_up_account_time")]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status="pending"),
                name="top_up_one_pending_per_account",
            ),
            models.UniqueConstraint(fields=["idempotency_key"], name="top_up_key_unique"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "succeeded", "failed"]),
                name="top_up_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(gross__gte=F("amount")) & Q(quantity__gte=1),
                name="top_up_amounts_positive",
            ),
            models.CheckConstraint(
                condition=~Q(status="succeeded") | Q(invoice__isnull=False),
                name="top_up_succeeded_is_invoiced",
            ),
        ]

    def __str__(self) -> str:
        return f"Top-up #{self.pk} of {self.amount} {self.currency} ({self.status})"

    @property
    def amount_money(self) -> Money:
        """The credit added, as Money (for display)."""
        return Money(self.amount, self.currency)

    @property
    def gross_money(self) -> Money:
        return Money(self.gross, self.currency)


# The CDR tables live beside (issue 19, CDR ingestion); imported here so Django sees them.
from billtone.rating.cdr_models import (  # noqa: E402, F401
    Cdr,
    CdrBatch,
    CdrLineRejected,
    EmergencyNumber,
)
from billtone.rating.hold_models import (  # noqa: E402, F401
    CallHold,
    CallHoldSeconds,
    CallHoldTotal,
)
