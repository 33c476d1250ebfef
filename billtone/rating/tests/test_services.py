"""The deck import (all or nothing), the deck in force, and a deck's prefix table."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from billtone.core.models import AuditEntry
from billtone.core.services import Actor
from billtone.rating.core import call_cost
from billtone.rating.errors import RateDeckInvalid
from billtone.rating.models import Rate, RateDeck
from billtone.rating.selectors import (
    prefix_table,
    rate_deck_in_force,
    rate_deck_state,
    rate_decks_with_state,
)
from billtone.rating.services import rate_deck_import

DECKS = Path(__file__).parent / "decks"
JAN = datetime(2027, 1, 1, tzinfo=UTC)
FEB = datetime(2027, 2, 1, tzinfo=UTC)
ACTOR = Actor.system("test")


def deck_import(data: bytes, *, at=JAN, currency="EUR", name="Wholesale", **kwargs) -> RateDeck:
    return rate_deck_import(
        data=data,
        name=name,
        currency=currency,
        effective_from=at,
        source_name="deck.csv",
        actor=ACTOR,
        **kwargs,
    )


@pytest.mark.django_db
def test_a_deck_is_imported_with_every_rate():
    deck = deck_import((DECKS / "az_wholesale.csv").read_bytes(), currency="USD")

    assert deck.rate_count == 6 == Rate.objects.filter(deck=deck).count()
    vodafone = Rate.objects.get(deck=deck, prefix="447700")
    assert (vodafone.per_minute, vodafone.connection_fee) == (Decimal("0.0210"), Decimal("0.0100"))
    assert (vodafone.initial_increment, vodafone.subsequent_increment) == (30, 6)
    assert AuditEntry.objects.filter(action="rate_deck.import", object_id=str(deck.pk)).exists()


@pytest.mark.django_db
def test_a_deck_with_one_bad_line_writes_nothing_and_names_every_bad_line():
    with pytest.raises(RateDeckInvalid) as raised:
        deck_import((DECKS / "bad_lines.csv").read_bytes())

    assert RateDeck.objects.count() == 0 and Rate.objects.count() == 0
    assert len(raised.value.errors["file"]) == 8
    assert raised.value.errors["file"][0].startswith("Line 3: ")
    assert raised.value.status == 422


@pytest.mark.django_db
def test_a_second_deck_at_the_same_moment_and_currency_is_refused():
    deck_import(b"prefix,rate\n44,0.02\n")

    with pytest.raises(RateDeckInvalid) as raised:
        deck_import(b"prefix,rate\n44,0.03\n", name="Again")

    assert "already takes effect" in raised.value.errors["effective_from"][0]
    assert RateDeck.objects.count() == 1
    deck_import(b"prefix,rate\n44,0.03\n", currency="USD")  # another currency: its own decks
    assert RateDeck.objects.count() == 2


@pytest.mark.django_db
def test_unknown_currency_and_empty_name_are_refused_with_the_file_errors():
    with pytest.raises(RateDeckInvalid) as raised:
        deck_import(b"prefix,rate\n44,x\n", currency="XXY", name=" ")

    assert set(raised.value.errors) == {"name", "currency", "file"}
    assert RateDeck.objects.count() == 0


@pytest.mark.django_db
def test_the_deck_in_force_is_the_latest_started_and_a_future_deck_waits_its_moment():
    january = deck_import(b"prefix,rate\n44,0.0200\n", at=JAN)
    february = deck_import(b"prefix,rate\n44,0.0300\n447,0.0900\n", at=FEB, name="February")

    assert rate_deck_in_force(currency="EUR", at=datetime(2026, 12, 31, tzinfo=UTC)) is None
    assert rate_deck_in_force(currency="EUR", at=JAN) == january
    assert rate_deck_in_force(currency="EUR", at=datetime(2027, 1, 31, 23, tzinfo=UTC)) == january
    assert rate_deck_in_force(currency="EUR", at=FEB) == february
    assert rate_deck_in_force(currency="USD", at=FEB) is None

    table = prefix_table(deck=february)
    assert prefix_table(deck=february) is table  # read once per process
    assert len(table) == 2
    assert call_cost(table.lookup("447911123456"), 60) == Decimal("0.0900")
    assert prefix_table(deck=january).lookup("447911123456").per_minute == Decimal("0.0200")


@pytest.mark.django_db
def test_each_deck_is_future_in_force_or_past():
    deck_import(b"prefix,rate\n44,0.02\n", at=JAN)
    deck_import(b"prefix,rate\n44,0.03\n", at=FEB)
    deck_import(b"prefix,rate\n44,0.04\n", at=datetime(2027, 3, 1, tzinfo=UTC))
    now = datetime(2027, 2, 10, tzinfo=UTC)

    states = {
        d.effective_from.month: rate_deck_state(d, now=now) for d in rate_decks_with_state(now=now)
    }

    assert states == {1: "past", 2: "in force", 3: "future"}
