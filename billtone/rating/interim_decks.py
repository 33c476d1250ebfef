"""INTERIM (the lead reconciles at merge): reading decks for the CDR ingestion until the
rate-deck helper's `rating.selectors.rate_deck_in_force(*, currency, at)` and
`prefix_table(*, deck)` are on main; the same signatures, so the switch is one import.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from billtone.rating.core import PrefixTable, Tariff
from billtone.rating.models import Rate, RateDeck


def rate_deck_in_force(*, currency: str, at: datetime) -> RateDeck | None:
    """The deck of `currency` with the latest `effective_from` at or before `at`."""
    return (
        RateDeck.objects.filter(currency=currency, effective_from__lte=at)
        .order_by("-effective_from")
        .first()
    )


def prefix_table(*, deck: RateDeck) -> PrefixTable:
    """The deck's rates as the pure core's table (decks are never edited: cached by id)."""
    # The key names the deck's content too: a test database gives ids again after a rollback.
    return _table(deck.pk, deck.created_at, deck.name, deck.rate_count)


@lru_cache(maxsize=8)
def _table(deck_id: int, *_identity) -> PrefixTable:
    rows = Rate.objects.filter(deck_id=deck_id).values_list(
        "prefix",
        "destination",
        "per_minute",
        "connection_fee",
        "initial_increment",
        "subsequent_increment",
    )
    return PrefixTable(Tariff(*row) for row in rows)
