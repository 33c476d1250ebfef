"""Reads of rating: the deck in force, and a deck's prefixes as the rating core wants them."""

from __future__ import annotations

import threading
from datetime import datetime

from django.db.models import Exists, OuterRef, QuerySet

from billtone.rating.core import PrefixTable, Tariff
from billtone.rating.models import Rate, RateDeck

_TABLES: dict[tuple, PrefixTable] = {}
_TABLES_KEPT = 8  # decks are write-once; a process rates against one or two at a time
_TABLES_LOCK = threading.Lock()


def rate_deck_in_force(*, currency: str, at: datetime) -> RateDeck | None:
    """The deck of `currency` with the latest `effective_from` at or before `at`."""
    return (
        RateDeck.objects.filter(currency=currency, effective_from__lte=at)
        .order_by("-effective_from")
        .first()
    )


def prefix_table(*, deck: RateDeck) -> PrefixTable:
    """The deck's rates for `core.PrefixTable.lookup`, read once per process: a deck's rates
    never change after its import (decision 0024)."""
    return prefix_table_of(deck_id=deck.pk, created_at=deck.created_at)


def prefix_table_of(*, deck_id: int, created_at: datetime) -> PrefixTable:
    """prefix_table of the deck of this id, imported at `created_at` (a test database gives
    an id again after a rollback: the moment tells the decks apart)."""
    key = (deck_id, created_at)
    table = _TABLES.get(key)
    if table is not None:
        return table
    rows = Rate.objects.filter(deck_id=deck_id).values_list(
        "prefix",
        "destination",
        "per_minute",
        "connection_fee",
        "initial_increment",
        "subsequent_increment",
    )
    table = PrefixTable(Tariff(*row) for row in rows.iterator(chunk_size=10_000))
    with _TABLES_LOCK:
        while len(_TABLES) >= _TABLES_KEPT:
            _TABLES.pop(next(iter(_TABLES)))
        _TABLES[key] = table
    return table


def prefix_tables_warm(*, at: datetime) -> int:
    """Read the prefix tables of the decks in force at `at` (one per currency) into this
    process's cache, as a server worker does before its first request; returns how many."""
    currencies = RateDeck.objects.order_by().values_list("currency", flat=True).distinct()
    decks = [rate_deck_in_force(currency=currency, at=at) for currency in currencies]
    for deck in decks:
        if deck is not None:
            prefix_table(deck=deck)
    return sum(deck is not None for deck in decks)


def rate_decks_with_state(*, now: datetime) -> QuerySet[RateDeck]:
    """Every deck, annotated `superseded` (a later deck of its currency is in force by `now`):
    a deck is future when `effective_from > now`, in force when neither, else past."""
    later_in_force = RateDeck.objects.filter(
        currency=OuterRef("currency"),
        effective_from__gt=OuterRef("effective_from"),
        effective_from__lte=now,
    )
    return RateDeck.objects.annotate(superseded=Exists(later_in_force))


def rate_deck_state(deck: RateDeck, *, now: datetime) -> str:
    """'future', 'in force' or 'past', for a deck from `rate_decks_with_state`."""
    if deck.effective_from > now:
        return "future"
    return "past" if deck.superseded else "in force"
