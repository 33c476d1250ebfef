"""The operator's side of bank transfers: the statement files imported, their uploads from
the back office, and each credit they brought (matched to a bank transfer or an account's
reference, or waiting in the review queue)."""

from django.conf import settings
from django.db import models

from billtone.banktransfers.models import (
    REFERENCE_MAX_LENGTH,
    BankTransfer,
    OperatorBankAccount,
)
from billtone.core.clock import time_shown


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
    # by one task (services.funds_emails.funds_received_emails_queue), not inside its transaction:
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
        return f"{self.file_name} ({time_shown(self.started_at)})"


class SavedCsvMap(models.Model):
    """A bank's CSV export described once, for one of the operator's bank accounts: the
    column map (JSON, as `billtone import-statement --csv-map` takes it: checked by
    services.imports.csv_columns_parse into a statements.csv_file.CsvColumnMap), chosen from
    a list when a CSV statement of that account is uploaded."""

    bank_account = models.ForeignKey(
        OperatorBankAccount, on_delete=models.PROTECT, related_name="csv_maps"
    )
    name = models.CharField(max_length=100, help_text="e.g. the bank's export it reads")
    columns = models.JSONField(help_text="the column map, as the command's --csv-map takes it")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["bank_account__currency", "name"]
        verbose_name = "CSV column map"
        constraints = [
            models.UniqueConstraint(fields=["bank_account", "name"], name="csv_map_name_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.bank_account.currency})"


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
    csv_columns = models.TextField(
        blank=True, help_text="the CSV column map, as JSON (the saved map's, when uploaded)"
    )
    csv_map = models.ForeignKey(
        SavedCsvMap,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="CSV column map",
    )
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
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="the worker's last sign of life while importing"
    )
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
    """One credit from a bank statement: matched to an account's business funds (by a bank
    transfer's reference or the account's own), or waiting for staff.

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
    # Indexes cost every import, so only what is looked up has one: account through
    # bank_entry_account_status (Meta.indexes), not the suggested account nor who decided.
    account = models.ForeignKey(
        "accounts.Account",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bank_entries",
        db_index=False,
    )
    bank_transfer = models.ForeignKey(
        BankTransfer,
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
    suggested_bank_transfer = models.ForeignKey(
        BankTransfer,
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
