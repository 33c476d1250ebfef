"""Rating's tables (issue 19): rate decks and their rates.

A deck is the operator's price list for calls in one currency, taking effect at a moment
(`effective_from`, possibly in the future). The rate in force for a call is the one of the
deck of the account's currency with the latest `effective_from` at or before the call's start.
A deck is written once, all or nothing, by the deck import; its rates are never edited (a new
price is a new deck).
"""

from django.db import models
from django.db.models import Q

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


# The CDR tables live beside (issue 19, CDR ingestion); imported here so Django sees them.
from billtone.rating.cdr_models import Cdr, CdrBatch, EmergencyNumber  # noqa: E402, F401
