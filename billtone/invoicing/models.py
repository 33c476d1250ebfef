"""Invoices: numbered in one gap-free sequence, immutable once issued (docs/decisions/0018).

An invoice, its lines and its taxes are written once, by invoice_issue, in the transaction that
posts its ledger transaction; corrections are credit notes (a later issue), never edits. The
only columns written afterwards are the PDF's, which is rendered after commit.
"""

from django.db import models
from django.db.models import F, Q

from billtone.invoicing.immutable import (
    ImmutableError,
    ImmutableModel,
    ImmutableQuerySet,
    _amount,
)


class InvoiceSequence(models.Model):
    """The operator's invoice numbers: `next_number` is taken (select_for_update) and moved on
    inside the issuing transaction, so a rolled-back issue gives its number back."""

    name = models.CharField(max_length=40, unique=True)
    next_number = models.PositiveBigIntegerField(default=1)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(next_number__gte=1), name="invoice_sequence_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}: next {self.next_number}"


class Invoice(ImmutableModel):
    class PdfStatus(models.TextChoices):
        PENDING = "pending", "Being prepared"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    class Status(models.TextChoices):
        OPEN = "open", "Open"  # issued by a bill run, not paid yet
        PAID = "paid", "Paid"  # paid, or credited in full (docs/decisions/0020)

    MUTABLE_FIELDS = frozenset(
        {"pdf", "pdf_status", "pdf_error", "pdf_rendered_at", "status", "paid_at", "credited"}
    )

    sequence_number = models.PositiveBigIntegerField(unique=True)
    number = models.CharField(max_length=40, unique=True, help_text="e.g. INV-000042")
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="invoices"
    )
    issued_at = models.DateTimeField()
    issue_date = models.DateField(help_text="the date of issue in the account's time zone")
    currency = models.CharField(max_length=3, help_text="ISO 4217")
    net = _amount()
    tax = _amount()
    gross = _amount()
    reverse_charge = models.BooleanField(default=False)
    tax_mention = models.CharField(max_length=300, blank=True)
    customer = models.JSONField(help_text="the billing profile as it was at issue")
    operator = models.JSONField(help_text="the operator's profile as it was at issue")
    ledger_transaction = models.OneToOneField(
        "ledger.Transaction", on_delete=models.PROTECT, related_name="invoice"
    )
    source_key = models.CharField(max_length=200, help_text="what it was issued for")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PAID)
    paid_at = models.DateTimeField(null=True, blank=True)
    credited = _amount(default=0, help_text="the sum of its credit notes (gross)")
    created_by = models.CharField(max_length=200)
    pdf = models.BinaryField(null=True, blank=True, editable=False)
    pdf_status = models.CharField(
        max_length=10, choices=PdfStatus.choices, default=PdfStatus.PENDING
    )
    pdf_error = models.TextField(blank=True)
    pdf_rendered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sequence_number"]
        constraints = [
            models.UniqueConstraint(fields=["source_key"], name="invoice_source_key_unique"),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="invoice_currency_iso"
            ),
            models.CheckConstraint(
                condition=~Q(reverse_charge=True) | Q(tax=0), name="invoice_reverse_charge_no_tax"
            ),
            models.CheckConstraint(
                condition=Q(pdf_status__in=["pending", "ready", "failed"]),
                name="invoice_pdf_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "paid"]), name="invoice_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(credited__gte=0) & Q(credited__lte=F("gross")),
                name="invoice_credited_within_gross",
            ),
            models.CheckConstraint(
                condition=~Q(pdf_status="ready") | Q(pdf__isnull=False),
                name="invoice_pdf_ready_has_pdf",
            ),
        ]
        indexes = [models.Index(fields=["account", "-sequence_number"])]

    def __str__(self) -> str:
        return self.number

    @property
    def pdf_filename(self) -> str:
        return f"{self.number}.pdf"


class InvoiceLine(ImmutableModel):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=300)
    kind = models.CharField(max_length=20)
    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    billing = models.CharField(max_length=10)
    quantity = models.PositiveIntegerField()
    unit_price = _amount(help_text="net")
    net = _amount()
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, help_text="percent")
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True, help_text="inclusive")

    class Meta:
        ordering = ["invoice_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="invoice_line_quantity"),
            models.CheckConstraint(
                condition=Q(period_start__isnull=True, period_end__isnull=True)
                | Q(period_end__gte=models.F("period_start")),
                name="invoice_line_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.description}"


class InvoiceTax(ImmutableModel):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="taxes")
    rate = models.DecimalField(max_digits=5, decimal_places=2, help_text="percent")
    taxable = _amount()
    tax = _amount()

    class Meta:
        ordering = ["invoice_id", "rate"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "rate"], name="invoice_tax_one_per_rate")
        ]

    def __str__(self) -> str:
        return f"{self.rate} %: {self.tax} on {self.taxable}"


class Subscription(models.Model):
    """A monthly item bought at checkout: what, at what price, paid through when. The bill runs
    (docs/decisions/0020) charge it month by month from the day after `paid_through` (from
    `started_on` when nothing was billed yet) up to `ends_on`. Status `ended`: no further
    bills (service may go on until `ends_on`); at most one active subscription per item."""

    class ItemKind(models.TextChoices):
        PHONE_USER = "phone_user", "Phone user"
        PHONE_NUMBER = "phone_number", "Phone number"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="subscriptions"
    )
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    item_kind = models.CharField(max_length=20, choices=ItemKind.choices)
    item_id = models.PositiveBigIntegerField()
    description = models.CharField(max_length=300)
    unit_price = _amount(help_text="net, per month")
    currency = models.CharField(max_length=3)
    started_on = models.DateField()
    paid_through = models.DateField(
        null=True, blank=True, help_text="the last day billed; empty: nothing billed yet"
    )
    ends_on = models.DateField(
        null=True, blank=True, help_text="the last day of service; empty: until cancelled"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    invoice = models.ForeignKey(
        Invoice,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="subscriptions",
        help_text="first charge, when checkout paid it",
    )
    created_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["account_id", "started_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["item_kind", "item_id"],
                condition=Q(status="active"),
                name="subscription_one_active_per_item",
            ),
            models.CheckConstraint(
                condition=Q(paid_through__isnull=True) | Q(paid_through__gte=F("started_on")),
                name="subscription_paid_through_after_start",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("started_on")),
                name="subscription_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(item_kind__in=["phone_user", "phone_number"]),
                name="subscription_item_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["active", "ended"]), name="subscription_status_valid"
            ),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="subscription_price"),
        ]

    def __str__(self) -> str:
        return f"{self.description} ({self.get_status_display()})"


# Credit notes live in their own module; imported here so Django finds them with the rest.
from billtone.invoicing.credit_note_models import (  # noqa: E402
    CreditNote,
    CreditNoteLine,
    CreditNoteTax,
)

__all__ = [
    "CreditNote",
    "CreditNoteLine",
    "CreditNoteTax",
    "ImmutableError",
    "ImmutableModel",
    "ImmutableQuerySet",
    "Invoice",
    "InvoiceLine",
    "InvoiceSequence",
    "InvoiceTax",
    "Subscription",
]
