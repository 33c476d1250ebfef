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
    on this account's business funds, with or without a bank transfer asked for."""

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


class BankTransfer(models.Model):
    """A customer's intent to add business funds by bank transfer: an amount, a reference of
    its own, an expiry (docs/architecture.md, Glossary)."""

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
        "accounts.Account", on_delete=models.PROTECT, related_name="bank_transfers"
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
        indexes = [
            models.Index(fields=["account", "-created_at"], name="bank_transfer_account_created")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="bank_transfer_idempotency_key_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(reference__regex=REFERENCE_PATTERN),
                name="bank_transfer_reference_iso11649",
            ),
            models.CheckConstraint(
                condition=models.Q(currency__regex=r"^[A-Z]{3}$"),
                name="bank_transfer_currency_iso",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="bank_transfer_amount_positive"
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
                name="bank_transfer_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="bank_transfer_expires_after_created",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.amount} {self.currency} ({self.get_status_display()})"

    def can_become(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, frozenset())
