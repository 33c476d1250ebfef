"""Rate deck import: a deck is written once, all its rates or none (decision 0024)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from billtone.core import clock
from billtone.core.money import currency_check
from billtone.core.services import Actor, audit_record
from billtone.rating.decks import DeckRead, deck_read
from billtone.rating.errors import RateDeckInvalid
from billtone.rating.models import Rate, RateDeck

BATCH_SIZE = 5000


def _moment_taken(currency: str, effective_from: datetime) -> str:
    return (
        f"A {currency} rate deck already takes effect at {clock.time_shown(effective_from)}: "
        "a deck is never changed; choose another moment for the new one."
    )


def _fields_check(*, name: str, currency: str, effective_from: datetime) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = ["Give the deck a name."]
    elif len(name) > RateDeck._meta.get_field("name").max_length:
        errors["name"] = ["The name is longer than 200 characters."]
    try:
        currency_check(currency)
    except ValueError:
        errors["currency"] = [f"Unknown ISO 4217 currency '{currency}'."]
    if timezone.is_naive(effective_from):
        errors["effective_from"] = ["The moment needs a time zone."]
    elif (
        "currency" not in errors
        and RateDeck.objects.filter(currency=currency, effective_from=effective_from).exists()
    ):
        errors["effective_from"] = [_moment_taken(currency, effective_from)]
    return errors


def rate_deck_save(
    *,
    read: DeckRead,
    name: str,
    currency: str,
    effective_from: datetime,
    source_name: str,
    actor: Actor,
    progress: Callable[[int], None] | None = None,
) -> RateDeck:
    """Write a deck read by `decks.deck_read`, all its rates in one transaction, or raise
    RateDeckInvalid (the file's line errors and the other fields') and write nothing."""
    errors = _fields_check(name=name, currency=currency, effective_from=effective_from)
    if read.errors:
        errors["file"] = [str(error) for error in read.errors]
    if errors:
        raise RateDeckInvalid(errors, read.errors)
    try:
        with transaction.atomic():
            deck = RateDeck.objects.create(
                name=name.strip(),
                currency=currency,
                effective_from=effective_from,
                source_name=source_name[:255],
                rate_count=len(read.tariffs),
                created_at=clock.now(),
                created_by=actor.label[:200],
            )
            for start in range(0, len(read.tariffs), BATCH_SIZE):
                Rate.objects.bulk_create(
                    Rate(
                        deck=deck,
                        prefix=t.prefix,
                        destination=t.destination,
                        per_minute=t.per_minute,
                        connection_fee=t.connection_fee,
                        initial_increment=t.initial_increment,
                        subsequent_increment=t.subsequent_increment,
                    )
                    for t in read.tariffs[start : start + BATCH_SIZE]
                )
                if progress is not None:
                    progress(min(start + BATCH_SIZE, len(read.tariffs)))
            audit_record(
                actor=actor,
                action="rate_deck.import",
                obj=deck,
                changes={"rates": [None, deck.rate_count], "source": [None, source_name]},
            )
    except IntegrityError:  # another import took the same moment between check and insert
        if RateDeck.objects.filter(currency=currency, effective_from=effective_from).exists():
            raise RateDeckInvalid(
                {"effective_from": [_moment_taken(currency, effective_from)]}
            ) from None
        raise
    return deck


def rate_deck_import(
    *,
    data: bytes,
    name: str,
    currency: str,
    effective_from: datetime,
    source_name: str,
    actor: Actor,
    sub_units: int | None = None,
    column_map: dict[str, str] | None = None,
) -> RateDeck:
    """Read a CSV deck and write it, all or nothing (RateDeckInvalid names every bad line)."""
    read = deck_read(data, sub_units=sub_units, column_map=column_map)
    return rate_deck_save(
        read=read,
        name=name,
        currency=currency,
        effective_from=effective_from,
        source_name=source_name,
        actor=actor,
    )
