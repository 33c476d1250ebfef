"""Credit notes (docs/decisions/0022): written once by credit_note_issue, like invoices."""

from django.db import models
from django.db.models import Q

from billtone.invoicing.immutable import ImmutableModel, _amount


class CreditNote(ImmutableModel):
    """A correction of an issued invoice, in full or in part (docs/decisions/0022): its own
    gap-free series (CN-000001), written once by credit_note_issue with the ledger transaction
    that gives the money back. Only the PDF's columns and the card refund's outcome (taken
    after commit) are written afterwards."""

    class PdfStatus(models.TextChoices):
        PENDING = "pending", "Being prepared"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    class RefundTo(models.TextChoices):
        BUSINESS_FUNDS = "business_funds", "Business funds"
        CARD = "card", "Refund to the card"
        INVOICE_DUE = "invoice_due", "Off what the invoice still owes"

    class RefundStatus(models.TextChoices):
        NONE = "", "—"  # not a card refund
        PENDING = "pending", "Refund pending"
        SUCCEEDED = "succeeded", "Refunded to the card"
        FAILED = "failed", "Refund failed: kept on business funds"

    MUTABLE_FIELDS = frozenset(
        {
            "pdf",
            "pdf_status",
            "pdf_error",
            "pdf_rendered_at",
            "refund_payment",
            "refund_status",
            "refund_error",
        }
    )

    sequence_number = models.PositiveBigIntegerField(unique=True)
    number = models.CharField(max_length=40, unique=True, help_text="e.g. CN-000042")
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="credit_notes"
    )
    invoice = models.ForeignKey(
        "invoicing.Invoice", on_delete=models.PROTECT, related_name="credit_notes"
    )
    issued_at = models.DateTimeField()
    issue_date = models.DateField(help_text="the date of issue in the account's time zone")
    currency = models.CharField(max_length=3, help_text="ISO 4217")
    net = _amount(help_text="credited, positive")
    tax = _amount()
    gross = _amount()
    reverse_charge = models.BooleanField(default=False)
    tax_mention = models.CharField(max_length=300, blank=True)
    customer = models.JSONField(help_text="the billing profile as it was at issue")
    operator = models.JSONField(help_text="the operator's profile as it was at issue")
    reason = models.CharField(max_length=300)
    refund_to = models.CharField(max_length=20, choices=RefundTo.choices)
    ledger_transaction = models.OneToOneField(
        "ledger.Transaction", on_delete=models.PROTECT, related_name="credit_note"
    )
    idempotency_key = models.CharField(max_length=255)
    refund_payment = models.ForeignKey(
        "payments.Payment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the card refund, asked for after commit",
    )
    refund_status = models.CharField(
        max_length=10, choices=RefundStatus.choices, default=RefundStatus.NONE, blank=True
    )
    refund_error = models.CharField(max_length=500, blank=True)
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
            models.UniqueConstraint(
                fields=["idempotency_key"], name="credit_note_idempotency_key_unique"
            ),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="credit_note_currency_iso"
            ),
            models.CheckConstraint(
                condition=Q(net__gte=0) & Q(tax__gte=0) & Q(gross__gt=0),
                name="credit_note_amounts_positive",
            ),
            models.CheckConstraint(
                condition=Q(refund_to__in=["business_funds", "card", "invoice_due"]),
                name="credit_note_refund_to_valid",
            ),
            models.CheckConstraint(
                condition=Q(refund_status__in=["", "pending", "succeeded", "failed"]),
                name="credit_note_refund_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(pdf_status__in=["pending", "ready", "failed"]),
                name="credit_note_pdf_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(pdf_status="ready") | Q(pdf__isnull=False),
                name="credit_note_pdf_ready_has_pdf",
            ),
        ]
        indexes = [models.Index(fields=["account", "-sequence_number"])]

    def __str__(self) -> str:
        return self.number

    @property
    def pdf_filename(self) -> str:
        return f"{self.number}.pdf"


class CreditNoteLine(ImmutableModel):
    """What is credited of one invoice line: a quantity of it, or an amount (net)."""

    credit_note = models.ForeignKey(CreditNote, on_delete=models.PROTECT, related_name="lines")
    invoice_line = models.ForeignKey(
        "invoicing.InvoiceLine", on_delete=models.PROTECT, related_name="credit_note_lines"
    )
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=300)
    kind = models.CharField(max_length=20)
    quantity = models.PositiveIntegerField()
    unit_price = _amount(help_text="net")
    net = _amount()
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, help_text="percent")
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True, help_text="inclusive")

    class Meta:
        ordering = ["credit_note_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_note", "position"], name="credit_note_line_position"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="credit_note_line_quantity"),
            models.CheckConstraint(condition=Q(net__gt=0), name="credit_note_line_net_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.description}"


class CreditNoteTax(ImmutableModel):
    credit_note = models.ForeignKey(CreditNote, on_delete=models.PROTECT, related_name="taxes")
    rate = models.DecimalField(max_digits=5, decimal_places=2, help_text="percent")
    taxable = _amount()
    tax = _amount()

    class Meta:
        ordering = ["credit_note_id", "rate"]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_note", "rate"], name="credit_note_tax_one_per_rate"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rate} %: {self.tax} on {self.taxable}"
