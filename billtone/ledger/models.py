"""The append-only double-entry ledger.

Sign convention (docs/decisions/0004-money-and-ledger.md): a posting's amount is signed, a
ledger account's balance is the sum of its postings, and a positive balance is a credit
balance: what the operator owes (a customer's business funds and call credit, tax payable,
unallocated receipts) or has earned (revenue). What the operator holds or is owed (bank and
card clearing) has a negative, debit balance. Every transaction sums to zero per currency, so
all balances of one currency sum to zero.
"""

from django.db import models
from django.db.models import F, Q

AMOUNT_DIGITS = 20
AMOUNT_PLACES = 4  # money.RATING_PLACES: call rating may post sub-cent amounts


class AppendOnlyError(RuntimeError):
    """Ledger history is never edited: correct it with a reversing transaction."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model.__name__} rows are never updated.")

    def delete(self):
        raise AppendOnlyError(f"{self.model.__name__} rows are never deleted.")


class AppendOnlyModel(models.Model):
    """Rows are inserted once: save() of a stored row and delete() raise."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} rows are never deleted.")


class LedgerKind(models.TextChoices):
    # owed by the operator to one customer
    BUSINESS_FUNDS = "business_funds", "Business funds"
    CALL_CREDIT = "call_credit", "Call credit"
    # the operator's own books
    BANK_CLEARING = "bank_clearing", "Bank clearing"
    CARD_CLEARING = "card_clearing", "Card clearing"
    UNALLOCATED_RECEIPTS = "unallocated_receipts", "Unallocated receipts"
    TAX_PAYABLE = "tax_payable", "Tax payable"
    REVENUE_SUBSCRIPTIONS = "revenue_subscriptions", "Revenue: subscriptions"
    REVENUE_CALLS = "revenue_calls", "Revenue: calls"
    REVENUE_NUMBERS = "revenue_numbers", "Revenue: phone numbers"
    REVENUE_ONE_OFF = "revenue_one_off", "Revenue: one-off charges"
    ADJUSTMENTS = "adjustments", "Adjustments and goodwill"
    RECEIVABLE = "receivable", "Invoices receivable"  # open bills; whose: the invoices say


CUSTOMER_KINDS = (LedgerKind.BUSINESS_FUNDS, LedgerKind.CALL_CREDIT)


class LedgerAccount(models.Model):
    Kind = LedgerKind

    CUSTOMER_KINDS = frozenset(CUSTOMER_KINDS)

    account = models.ForeignKey(
        "accounts.Account",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_accounts",
        help_text="the customer; empty for the operator's own accounts",
    )
    kind = models.CharField(max_length=40, choices=Kind.choices)
    currency = models.CharField(max_length=3, help_text="ISO 4217")
    floor = models.DecimalField(
        max_digits=AMOUNT_DIGITS,
        decimal_places=AMOUNT_PLACES,
        null=True,
        blank=True,
        help_text="a debit may not take the balance below this; empty: no floor",
    )
    balance = models.DecimalField(
        max_digits=AMOUNT_DIGITS,
        decimal_places=AMOUNT_PLACES,
        default=0,
        help_text="the sum of the postings, kept in step in the posting's transaction",
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["account_id", "kind", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind", "currency"],
                condition=Q(account__isnull=False),
                name="ledger_account_unique_per_customer",
            ),
            models.UniqueConstraint(
                fields=["kind", "currency"],
                condition=Q(account__isnull=True),
                name="ledger_account_unique_for_operator",
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="ledger_account_currency_iso"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=LedgerKind.values), name="ledger_account_kind_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind__in=CUSTOMER_KINDS, account__isnull=False)
                    | (~Q(kind__in=CUSTOMER_KINDS) & Q(account__isnull=True))
                ),
                name="ledger_account_owner_matches_kind",
            ),
            # No balance below its floor, whatever the code does; business funds' floor is 0.
            models.CheckConstraint(
                condition=Q(floor__isnull=True) | Q(balance__gte=F("floor")),
                name="ledger_balance_not_below_floor",
            ),
            models.CheckConstraint(
                condition=~Q(kind="business_funds") | Q(floor=0),
                name="ledger_business_funds_floor_zero",
            ),
            models.CheckConstraint(
                condition=~Q(kind="call_credit") | Q(floor__lte=0),
                name="ledger_call_credit_floor_not_positive",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=CUSTOMER_KINDS) | Q(floor__isnull=False),
                name="ledger_customer_accounts_have_a_floor",
            ),
        ]

    def __str__(self) -> str:
        owner = self.account.name if self.account_id else "Operator"
        return f"{owner}: {self.get_kind_display()} ({self.currency})"

    @property
    def is_customer(self) -> bool:
        return self.kind in self.CUSTOMER_KINDS


class Transaction(AppendOnlyModel):
    """One business event that moves money; its postings sum to zero per currency."""

    kind = models.CharField(max_length=50, help_text="e.g. bank_transfer, top_up, reversal")
    memo = models.CharField(max_length=255, help_text="shown on statements")
    external_reference = models.CharField(
        max_length=255, blank=True, help_text="the gateway's or bank's id: the back office's only"
    )
    statement_reference = models.CharField(
        max_length=35,
        blank=True,
        default="",
        db_default="",
        help_text="what the customer knows it by (a bank transfer's RF reference): on statements",
    )
    created_by = models.CharField(max_length=200, help_text="user, token or system that posted")
    idempotency_key = models.CharField(max_length=255)  # unique: Meta.constraints
    fingerprint = models.CharField(
        max_length=64, help_text="hash of the content: a replay must match it"
    )
    reverses = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
        help_text="the transaction this one cancels; each is reversed at most once",
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A constraint, not unique=True: on PostgreSQL that also made a varchar_pattern_ops
            # index for LIKE 'prefix%' look-ups, which nothing does with a key.
            models.UniqueConstraint(
                fields=["idempotency_key"], name="ledger_transaction_idempotency_key_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind__regex=r"^[a-z][a-z0-9_.]*$"), name="ledger_transaction_kind_slug"
            ),
            models.CheckConstraint(
                condition=~Q(reverses=F("id")), name="ledger_transaction_not_self_reversal"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind}: {self.memo}"


class Posting(AppendOnlyModel):
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="postings")
    ledger_account = models.ForeignKey(
        LedgerAccount,
        on_delete=models.PROTECT,
        related_name="postings",
        db_index=False,  # ledger_posting_account_time leads with it
    )
    amount = models.DecimalField(
        max_digits=AMOUNT_DIGITS,
        decimal_places=AMOUNT_PLACES,
        help_text="signed: positive credits the account, negative debits it",
    )
    currency = models.CharField(max_length=3)
    balance_after = models.DecimalField(
        max_digits=AMOUNT_DIGITS,
        decimal_places=AMOUNT_PLACES,
        help_text="the account's balance right after this posting",
    )
    created_at = models.DateTimeField(help_text="the transaction's time, for statements")

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["ledger_account", "created_at", "id"], name="ledger_posting_account_time"
            )
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_posting_not_zero"),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="ledger_posting_currency_iso"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} on {self.ledger_account_id}"
