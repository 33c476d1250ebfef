from django.conf import settings
from django.db import models


class OperatorBankAccount(models.Model):
    """Where customers send bank transfers, one per currency."""

    currency = models.CharField(max_length=3, unique=True, help_text="ISO 4217")
    account_holder = models.CharField(max_length=140)
    iban = models.CharField(max_length=34, verbose_name="IBAN")
    bic = models.CharField(max_length=11, verbose_name="BIC")
    bank_name = models.CharField(max_length=140)
    bank_address = models.CharField(max_length=280, blank=True)

    class Meta:
        ordering = ["currency"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(currency__regex=r"^[A-Z]{3}$"), name="bank_account_currency_iso"
            )
        ]

    def __str__(self) -> str:
        return f"{self.currency}: {self.bank_name} {self.iban}"


REFERENCE_MAX_LENGTH = 25  # ISO 11649: "RF", two check digits, up to 21 characters
REFERENCE_PATTERN = r"^RF[0-9]{2}[0-9A-Z]{1,21}$"  # stored compact, upper case


class AccountReference(models.Model):
    """The customer account's permanent RF reference: a transfer that carries it always lands
    on this account's business funds, with or without a funding request."""

    account = models.OneToOneField(
        "accounts.Account", on_delete=models.PROTECT, related_name="bank_reference"
    )
    reference = models.CharField(max_length=REFERENCE_MAX_LENGTH, unique=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(reference__regex=REFERENCE_PATTERN),
                name="account_reference_iso11649",
            )
        ]

    def __str__(self) -> str:
        return self.reference


class FundingRequest(models.Model):
    """A customer's intent to add business funds by bank transfer, with its own reference."""

    class Status(models.TextChoices):
        AWAITING_FUNDS = "awaiting_funds", "Awaiting funds"
        RECEIVED = "received", "Received"
        RECEIVED_DIFFERENT_AMOUNT = "received_different_amount", "Received a different amount"
        EXPIRED = "expired", "Expired"

    # Money that arrives after expiry still lands, so an expired request can still be received.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.AWAITING_FUNDS: frozenset(
            {Status.RECEIVED, Status.RECEIVED_DIFFERENT_AMOUNT, Status.EXPIRED}
        ),
        Status.EXPIRED: frozenset({Status.RECEIVED, Status.RECEIVED_DIFFERENT_AMOUNT}),
        Status.RECEIVED: frozenset(),
        Status.RECEIVED_DIFFERENT_AMOUNT: frozenset(),
    }
    RECEIVED_STATUSES = frozenset({Status.RECEIVED, Status.RECEIVED_DIFFERENT_AMOUNT})

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="funding_requests"
    )
    amount = models.DecimalField(max_digits=18, decimal_places=4)
    currency = models.CharField(max_length=3, help_text="ISO 4217, the account's currency")
    reference = models.CharField(max_length=REFERENCE_MAX_LENGTH, unique=True)
    status = models.CharField(
        max_length=30, choices=Status.choices, default=Status.AWAITING_FUNDS, db_index=True
    )
    received_amount = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by_label = models.CharField(max_length=200, help_text="user or token that asked")
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="funding_request_idempotency_key_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(reference__regex=REFERENCE_PATTERN),
                name="funding_request_reference_iso11649",
            ),
            models.CheckConstraint(
                condition=models.Q(currency__regex=r"^[A-Z]{3}$"),
                name="funding_request_currency_iso",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="funding_request_amount_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    status__in=["awaiting_funds", "expired"],
                    received_amount__isnull=True,
                    received_at__isnull=True,
                )
                | models.Q(
                    status__in=["received", "received_different_amount"],
                    received_amount__gt=0,
                    received_at__isnull=False,
                ),
                name="funding_request_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="funding_request_expires_after_created",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.amount} {self.currency} ({self.get_status_display()})"

    def can_become(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, frozenset())


# --- Statement import and reconciliation --------------------------------------------------


class StatementImport(models.Model):
    """One bank statement file imported by operator staff (back office or command line)."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Format(models.TextChoices):
        CAMT053 = "camt053", "ISO 20022 camt.053"
        MT940 = "mt940", "SWIFT MT940"
        CSV = "csv", "CSV"

    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True, help_text="of the file as uploaded")
    format = models.CharField(max_length=10, choices=Format.choices)
    account_iban = models.CharField(
        max_length=34, blank=True, verbose_name="statement account IBAN", help_text="the first"
    )
    statement_ids = models.CharField(max_length=255, blank=True, verbose_name="statement ids")
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    imported_by_label = models.CharField(max_length=200, help_text="staff user or command")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    error = models.TextField(blank=True, help_text="why a started import stopped")
    warnings = models.JSONField(
        default=list, blank=True, help_text="balances or control sums that do not add up"
    )
    credits = models.PositiveIntegerField(default=0, help_text="credit entries in the file")
    matched = models.PositiveIntegerField(default=0)
    to_review = models.PositiveIntegerField(default=0)
    duplicates_skipped = models.PositiveIntegerField(
        default=0, help_text="credits imported before (same entry identity)"
    )
    debits_ignored = models.PositiveIntegerField(default=0)
    not_booked_ignored = models.PositiveIntegerField(
        default=0, help_text="pending or information-only entries (not booked)"
    )
    matched_totals = models.JSONField(
        default=dict, blank=True, help_text="currency: amount credited to business funds"
    )
    # The "funds received" emails of the matched entries are stored after the import commits,
    # by one task (funds_emails.funds_received_emails_queue), not inside its transaction:
    # docs/decisions/0007-funds-received-emails-queued-after-the-import.md.
    funds_emails_queued_at = models.DateTimeField(
        null=True,
        blank=True,
        verbose_name="funds received emails queued at",
        help_text="empty while the matched entries' emails are still to be queued",
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["running", "done", "failed"]),
                name="statement_import_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(format__in=["camt053", "mt940", "csv"]),
                name="statement_import_format_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(status="running") | models.Q(finished_at__isnull=False),
                name="statement_import_finished_when_not_running",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.started_at:%Y-%m-%d %H:%M})"


class StatementUpload(models.Model):
    """A statement file uploaded in the back office, imported by the worker after the
    request: the page that shows its progress reads this row (docs/decisions/0011-*)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for the worker"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"

    file = models.FileField(upload_to="statement-uploads/", blank=True)
    file_name = models.CharField(max_length=255)
    format = models.CharField(max_length=10, blank=True, help_text="empty: detect")
    csv_columns = models.TextField(blank=True, help_text="the CSV column map, as JSON")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_by_label = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    message = models.TextField(blank=True, help_text="why it failed")
    size = models.BigIntegerField(default=0, help_text="bytes")
    bytes_read = models.BigIntegerField(default=0)
    credits_imported = models.PositiveIntegerField(default=0)
    statement_import = models.ForeignKey(
        StatementImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["queued", "running", "done", "failed"]),
                name="statement_upload_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display().lower()})"


class BankEntry(models.Model):
    """One credit from a bank statement: matched to a business account, or waiting for staff.

    `identity` (statements/identity.py) is unique: the same booking imported again, from the
    same file or an overlapping statement, is skipped, and two imports at once cannot both
    keep it. An entry is credited at most once: its ledger transaction is one-to-one, and the
    ledger idempotency key is derived from the identity.
    """

    class Status(models.TextChoices):
        MATCHED = "matched", "Matched"
        REVIEW = "review", "To review"
        ALLOCATED = "allocated", "Allocated by staff"
        RETURNED = "returned", "Returned"

    class ReviewReason(models.TextChoices):
        NO_REFERENCE = "no_reference", "No valid reference"
        TWO_REFERENCES = "two_references", "Two different references"
        CURRENCY_DIFFERS = "currency_differs", "Currency differs from the account's"
        WRONG_CHECK_DIGITS = "wrong_check_digits", "Reference with wrong check digits"
        UNKNOWN_REFERENCE = "unknown_reference", "Unknown reference"
        REVERSAL = "reversal", "A returned debit, not a customer payment"

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.MATCHED: frozenset(),
        Status.REVIEW: frozenset({Status.ALLOCATED, Status.RETURNED}),
        Status.ALLOCATED: frozenset(),
        Status.RETURNED: frozenset(),
    }

    statement_import = models.ForeignKey(
        StatementImport, on_delete=models.PROTECT, related_name="entries"
    )
    identity = models.CharField(max_length=64)  # unique: Meta.constraints
    position = models.CharField(max_length=100, blank=True, help_text="where in the file")
    amount = models.DecimalField(max_digits=18, decimal_places=4)
    currency = models.CharField(max_length=3, help_text="ISO 4217")
    booking_date = models.DateField()
    value_date = models.DateField(null=True, blank=True)
    payer_name = models.CharField(max_length=255, blank=True)
    payer_iban = models.CharField(max_length=34, blank=True, verbose_name="payer IBAN")
    structured_reference = models.CharField(max_length=255, blank=True)
    free_text = models.TextField(blank=True)
    end_to_end_id = models.CharField(max_length=255, blank=True)
    bank_reference = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    review_reason = models.CharField(max_length=20, choices=ReviewReason.choices, blank=True)
    reference = models.CharField(
        max_length=REFERENCE_MAX_LENGTH, blank=True, help_text="the RF reference it matched"
    )
    # Indexes: each one costs every import; account is led by bank_entry_account_status,
    # suggestions and decisions are not looked up by.
    account = models.ForeignKey(
        "accounts.Account",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bank_entries",
        db_index=False,
    )
    funding_request = models.ForeignKey(
        FundingRequest,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bank_entries",
    )
    suggested_account = models.ForeignKey(
        "accounts.Account",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    suggested_funding_request = models.ForeignKey(
        FundingRequest,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    suggestion_reason = models.CharField(max_length=255, blank=True)
    ledger_transaction = models.OneToOneField(
        "ledger.Transaction",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bank_entry",
    )
    created_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    decided_by_label = models.CharField(max_length=200, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-booking_date", "-id"]
        verbose_name_plural = "bank entries"
        indexes = [
            models.Index(fields=["status", "booking_date"], name="bank_entry_status_date"),
            models.Index(fields=["payer_iban", "status"], name="bank_entry_payer_iban"),
            models.Index(fields=["account", "status"], name="bank_entry_account_status"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["identity"], name="bank_entry_identity_unique"),
            models.CheckConstraint(
                condition=models.Q(status__in=["matched", "review", "allocated", "returned"]),
                name="bank_entry_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="bank_entry_amount_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(currency__regex=r"^[A-Z]{3}$"), name="bank_entry_currency_iso"
            ),
            # Credited (matched or allocated): an account and its ledger transaction.
            # Not credited (review or returned): no ledger transaction.
            models.CheckConstraint(
                condition=(
                    models.Q(
                        status__in=["matched", "allocated"],
                        account__isnull=False,
                        ledger_transaction__isnull=False,
                    )
                    | models.Q(status__in=["review", "returned"], ledger_transaction__isnull=True)
                ),
                name="bank_entry_credited_iff_transaction",
            ),
            models.CheckConstraint(
                condition=models.Q(status="matched", review_reason="")
                | ~models.Q(status="matched") & ~models.Q(review_reason=""),
                name="bank_entry_review_reason_unless_matched",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["matched", "review"], decided_at__isnull=True)
                | models.Q(status__in=["allocated", "returned"], decided_at__isnull=False),
                name="bank_entry_decided_by_staff",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.booking_date} {self.amount:.2f} {self.currency} {self.payer_name}".strip()

    def can_become(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, frozenset())
