"""Saved cards, the automatic-payments setting, and every charge and refund made with a card.

PCI DSS: a card is kept as the gateway's token plus what the customer may see (brand, last
four digits, expiry, holder). The number and the CVC are never stored (billtone/payments/
gateways/base.py).
"""

from django.db import models
from django.db.models import Q

from billtone.core.money import Money

AMOUNT_DIGITS = 20
AMOUNT_PLACES = 4  # as the ledger's amounts


class SavedCard(models.Model):
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="saved_cards"
    )
    gateway = models.CharField(max_length=20, help_text="the gateway that holds the card")
    gateway_token = models.CharField(max_length=255, help_text="the gateway's token for the card")
    gateway_customer = models.CharField(max_length=255, blank=True)
    brand = models.CharField(max_length=20)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    holder_name = models.CharField(max_length=100)
    fingerprint = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="the gateway's name for the card number (the same number, the same one)",
    )
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-is_default", "-created_at", "-id"]
        constraints = [
            # A card is saved once per account (decision 0016): by the gateway's fingerprint,
            # or, where the gateway gives none, by brand, last four digits and expiry.
            models.UniqueConstraint(
                fields=["account", "gateway", "fingerprint"],
                condition=Q(removed_at__isnull=True) & ~Q(fingerprint=""),
                name="payments_card_saved_once_by_fingerprint",
            ),
            models.UniqueConstraint(
                fields=["account", "gateway", "brand", "last4", "exp_month", "exp_year"],
                condition=Q(removed_at__isnull=True, fingerprint=""),
                name="payments_card_saved_once_by_details",
            ),
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(is_default=True, removed_at__isnull=True),
                name="payments_one_default_card_per_account",
            ),
            models.UniqueConstraint(
                fields=["gateway", "gateway_token"], name="payments_card_token_unique"
            ),
            models.CheckConstraint(
                condition=Q(removed_at__isnull=True) | Q(is_default=False),
                name="payments_removed_card_not_default",
            ),
            models.CheckConstraint(
                condition=Q(exp_month__gte=1, exp_month__lte=12), name="payments_card_exp_month"
            ),
            models.CheckConstraint(
                condition=Q(last4__regex=r"^[0-9]{4}$"), name="payments_card_last4_digits"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.brand_display} •••• {self.last4} ({self.exp_month:02d}/{self.exp_year})"

    @property
    def brand_display(self) -> str:
        return BRAND_NAMES.get(self.brand, self.brand.title() or "Card")

    @property
    def is_active(self) -> bool:
        return self.removed_at is None


BRAND_NAMES = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "amex": "American Express",
    "discover": "Discover",
    "jcb": "JCB",
    "diners": "Diners Club",
    "unionpay": "UnionPay",
    "unknown": "Card",
}


class AutoPaymentSetting(models.Model):
    """Whether automatic payments (auto top-up, monthly bills) may charge the default card."""

    account = models.OneToOneField(
        "accounts.Account", on_delete=models.CASCADE, related_name="auto_payment_setting"
    )
    uses_default_card = models.BooleanField(default=False)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.account}: automatic payments {'on' if self.uses_default_card else 'off'}"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    REQUIRES_ACTION = "requires_action", "Waiting for authentication"
    ERRORED = "errored", "Outcome unknown"


# Where a payment may go from each state. `failed` is a known decline; `errored` an unknown
# outcome that payment_recover settles by asking the gateway (docs: gateways/base.py).
TRANSITIONS: dict[str, frozenset[str]] = {
    PaymentStatus.PENDING: frozenset(
        {
            PaymentStatus.SUCCEEDED,
            PaymentStatus.FAILED,
            PaymentStatus.REQUIRES_ACTION,
            PaymentStatus.ERRORED,
        }
    ),
    PaymentStatus.ERRORED: frozenset(
        {PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.REQUIRES_ACTION}
    ),
    PaymentStatus.REQUIRES_ACTION: frozenset(
        {PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.ERRORED}
    ),
    PaymentStatus.SUCCEEDED: frozenset(),
    PaymentStatus.FAILED: frozenset(),
}
FINAL_STATUSES = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.FAILED})


class PaymentKind(models.TextChoices):
    CHARGE = "charge", "Charge"
    REFUND = "refund", "Refund"


class PaymentPurpose(models.TextChoices):
    """What a charge pays for. Open: invoices will add theirs."""

    BUSINESS_FUNDS = "business_funds", "Business funds top-up"
    CALL_CREDIT = "call_credit", "Call credit top-up"


class Payment(models.Model):
    """One charge or refund of a saved card, from the first attempt to its outcome.

    A succeeded charge has the ledger transaction that credited what it paid for, posted in
    the database transaction that marked it succeeded. A refund takes the money off the
    customer's balance when it is asked for (its ledger transaction is there from the start)
    and gives it back with a reversal if the gateway refuses it.
    """

    Status = PaymentStatus
    Kind = PaymentKind
    Purpose = PaymentPurpose

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="payments"
    )
    card = models.ForeignKey(SavedCard, on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(max_length=10, choices=PaymentKind.choices)
    refund_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="refunds",
        help_text="the charge a refund gives money back for",
    )
    gateway = models.CharField(max_length=20)
    gateway_reference = models.CharField(max_length=255, blank=True)
    amount = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES)
    currency = models.CharField(max_length=3, help_text="ISO 4217")
    status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    on_session = models.BooleanField(help_text="the customer was there (not automatic)")
    decline_email = models.BooleanField(
        default=True,
        help_text="a decline off session is emailed; off when the caller emails its own "
        "(dunning's tries, auto top-up)",
    )
    failure_code = models.CharField(max_length=100, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    purpose = models.CharField(max_length=40, choices=PaymentPurpose.choices)
    description = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=255, unique=True)
    ledger_transaction = models.OneToOneField(
        "ledger.Transaction",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="card_payment",
    )
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "updated_at"], name="payments_status_updated")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_amount_positive"),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="payments_currency_iso"
            ),
            models.CheckConstraint(
                condition=Q(status__in=PaymentStatus.values), name="payments_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=PaymentKind.values), name="payments_kind_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind=PaymentKind.CHARGE, refund_of__isnull=True)
                    | Q(kind=PaymentKind.REFUND, refund_of__isnull=False)
                ),
                name="payments_refund_has_its_charge",
            ),
            # A charge is in the ledger exactly when it succeeded; a refund from the start.
            models.CheckConstraint(
                condition=(
                    Q(kind=PaymentKind.REFUND, ledger_transaction__isnull=False)
                    | Q(
                        kind=PaymentKind.CHARGE,
                        status=PaymentStatus.SUCCEEDED,
                        ledger_transaction__isnull=False,
                    )
                    | (
                        Q(kind=PaymentKind.CHARGE, ledger_transaction__isnull=True)
                        & ~Q(status=PaymentStatus.SUCCEEDED)
                    )
                ),
                name="payments_ledger_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_kind_display()} #{self.pk}: {self.amount} {self.currency} ({self.status})"
        )

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency).rounded()
