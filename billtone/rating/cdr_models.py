"""Rating's CDR tables (issue 19): each call the switch reported, its import, emergency numbers.

Every record sent is kept, rated or not: a rejected CDR waits for the operator to fix what
was missing (a deck, an account code, a user) and re-rate it; nothing is dropped. The
switch's call id is unique: a re-sent record is a duplicate, never a second charge.
"""

from django.db import models
from django.db.models import Q

from billtone.core.money import RATING_PLACES as RATE_PLACES
from billtone.core.money import Money

RATE_DIGITS = 14  # as rating.models' rates (which imports this module: no import back)


class CdrStatus(models.TextChoices):
    RATED = "rated", "Rated"
    REJECTED = "rejected", "Rejected"
    NOT_RATED = "not_rated", "Not rated"


class CdrReason(models.TextChoices):
    """Why a CDR is rejected (the operator can fix it) or not rated (nothing to charge)."""

    NONE = "", "—"
    # rejected
    UNKNOWN_ACCOUNT = "unknown_account", "Unknown account"
    UNKNOWN_USER = "unknown_user", "Unknown user"
    NO_RATE = "no_rate", "No rate for the destination"
    MALFORMED = "malformed", "Malformed record"
    # not rated
    UNANSWERED = "unanswered", "Not answered"
    NOT_A_NUMBER = "not_a_number", "Not a phone number"
    EMERGENCY = "emergency", "Emergency number"


REJECTED_REASONS = ("unknown_account", "unknown_user", "no_rate", "malformed")
NOT_RATED_REASONS = ("unanswered", "not_a_number", "emergency")


class CdrBatch(models.Model):
    """One ingestion (an API call, a file, a re-rating) and what became of its records."""

    source = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200, blank=True)
    records_read = models.PositiveIntegerField(default=0)
    answered = models.PositiveIntegerField(default=0)
    rated = models.PositiveIntegerField(default=0)
    not_rated = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    rejected_by_reason = models.JSONField(default=dict, blank=True)
    duplicates = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "CDR import"

    def __str__(self) -> str:
        return f"CDR import #{self.pk} ({self.source})"


class Cdr(models.Model):
    """One call as the switch reported it, and how it was rated."""

    Status = CdrStatus
    Reason = CdrReason

    call_id = models.CharField(max_length=255, unique=True, help_text="The switch's call id.")
    batch = models.ForeignKey(CdrBatch, on_delete=models.PROTECT, related_name="cdrs")
    line = models.PositiveIntegerField(default=0, help_text="Line of the file; 0 from the API.")
    account_code = models.CharField(max_length=80, blank=True, help_text="As the switch sent it.")
    account = models.ForeignKey(
        "accounts.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="cdrs"
    )
    source = models.CharField(max_length=80, blank=True, help_text="The caller, as sent.")
    phone_user = models.ForeignKey(
        "telephony.PhoneUser",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cdrs",
    )
    destination = models.CharField(max_length=255, help_text="As dialled.")
    destination_e164 = models.CharField(max_length=16, blank=True)
    destination_country = models.CharField(max_length=2, blank=True)
    started_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    billsec = models.PositiveIntegerField(default=0)
    disposition = models.CharField(max_length=20)
    status = models.CharField(max_length=10, choices=CdrStatus.choices)
    reason = models.CharField(max_length=20, choices=CdrReason.choices, blank=True, default="")
    message = models.CharField(max_length=255, blank=True)
    # Rated: the rate as it was (decks are never edited, but the copy is what the customer saw).
    rate = models.ForeignKey(
        "rating.Rate", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    prefix = models.CharField(max_length=16, blank=True)
    destination_name = models.CharField(max_length=200, blank=True)
    per_minute = models.DecimalField(
        max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, null=True, blank=True
    )
    connection_fee = models.DecimalField(
        max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, null=True, blank=True
    )
    initial_increment = models.PositiveSmallIntegerField(null=True, blank=True)
    subsequent_increment = models.PositiveSmallIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    cost = models.DecimalField(
        max_digits=RATE_DIGITS, decimal_places=RATE_PLACES, default=0, help_text="The price."
    )
    charged = models.DecimalField(
        max_digits=RATE_DIGITS,
        decimal_places=RATE_PLACES,
        default=0,
        help_text="What the call credit paid: less than the cost when it ran out.",
    )
    included_seconds = models.PositiveIntegerField(
        default=0, help_text="Seconds taken from the plan's included minutes."
    )
    period_start = models.DateField(
        null=True, blank=True, help_text="The billing period the included minutes count in."
    )
    credit_short = models.BooleanField(
        default=False, help_text="The call credit could not cover the whole cost."
    )
    transaction = models.ForeignKey(
        "ledger.Transaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = "CDR"
        indexes = [
            models.Index(fields=["account", "started_at"], name="rating_cdr_account_started"),
            models.Index(fields=["status", "reason"], name="rating_cdr_status_reason"),
            models.Index(
                fields=["phone_user", "period_start"],
                condition=Q(included_seconds__gt=0),
                name="rating_cdr_included_use",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=CdrStatus.values), name="rating_cdr_status_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="rated", reason="")
                    | Q(status="rejected", reason__in=REJECTED_REASONS)
                    | Q(status="not_rated", reason__in=NOT_RATED_REASONS)
                ),
                name="rating_cdr_reason_matches_status",
            ),
            models.CheckConstraint(
                condition=Q(charged__gte=0, cost__gte=0, charged__lte=models.F("cost")),
                name="rating_cdr_charged_within_cost",
            ),
        ]

    def __str__(self) -> str:
        return f"CDR {self.call_id}"

    @property
    def charged_money(self) -> Money:
        """What the call credit paid, as Money (for display)."""
        return Money(self.charged or 0, self.currency)

    @property
    def cost_money(self) -> Money:
        return Money(self.cost or 0, self.currency)


class CdrLineRejected(models.Model):
    """A line of a CDR file its reader could not read (wrong columns, a bad date or number):
    kept, with its text, for the operator to fix the file and import it again (call ids make
    that safe). Reasons are the reader's codes (rating.cdrs): columns, csv, date, number,
    missing, header."""

    batch = models.ForeignKey(CdrBatch, on_delete=models.PROTECT, related_name="lines_rejected")
    file_name = models.CharField(max_length=255)
    line = models.PositiveIntegerField()
    reason = models.CharField(max_length=20)
    message = models.CharField(max_length=500)
    text = models.TextField(help_text="The line as the file held it.")

    class Meta:
        ordering = ["batch_id", "line"]
        verbose_name = "CDR line rejected"
        verbose_name_plural = "CDR lines rejected"
        indexes = [
            models.Index(fields=["file_name", "line"], name="rating_cdrline_file_line"),
            models.Index(fields=["reason"], name="rating_cdrline_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} line {self.line}"


class EmergencyNumber(models.Model):
    """A number always allowed and never charged; `country` empty: in every country."""

    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166; empty: everywhere.")
    number = models.CharField(max_length=10)
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["country", "number"]
        constraints = [
            models.UniqueConstraint(fields=["country", "number"], name="emergency_number_once"),
            models.CheckConstraint(
                condition=Q(number__regex=r"^[0-9]{2,10}$"), name="emergency_number_digits"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.country or 'all countries'})"
