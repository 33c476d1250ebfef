"""`billtone import-rate-deck FILE`: summary, errors with line numbers, nothing written."""

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from billtone.rating.models import RateDeck

DECKS = Path(__file__).parent / "decks"


def run(*args) -> str:
    out = io.StringIO()
    call_command("import-rate-deck", *map(str, args), stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_the_command_imports_a_deck_and_names_the_rows_read():
    out = run(
        DECKS / "eu_subunits.csv",
        "--name=EU retail",
        "--currency=eur",
        "--effective-from=2027-03-01",
        "--sub-units=10000",
    )

    deck = RateDeck.objects.get()
    assert (deck.name, deck.currency, deck.rate_count) == ("EU retail", "EUR", 3)
    assert deck.effective_from.isoformat() == "2027-03-01T00:00:00+00:00"
    assert "Prefix rows read" in out and "Imported EU retail: 3 rates in EUR" in out
    assert deck.rates.get(prefix="49151").per_minute == 0.125


@pytest.mark.django_db
def test_a_column_map_on_the_command_line():
    path = DECKS.parent / "decks" / "switch_billing.csv"
    out = run(
        path,
        "--name=X",
        "--currency=USD",
        "--effective-from=2027-03-01T12:00:00+01:00",
        "--map",
        "destination=Destination,subsequent=Increment",
    )

    assert RateDeck.objects.get().rate_count == 3
    assert "Included Seconds" in out  # named among the columns not used


@pytest.mark.django_db
def test_bad_lines_are_printed_with_their_numbers_and_the_command_fails():
    out = io.StringIO()
    with pytest.raises(CommandError, match="8 bad lines; nothing was imported"):
        call_command(
            "import-rate-deck",
            str(DECKS / "bad_lines.csv"),
            "--name=Bad",
            "--currency=EUR",
            "--effective-from=2027-03-01",
            stdout=out,
        )

    assert "Line 3: rate 'abc' is not a number." in out.getvalue()
    assert "lines 9 and 10" in out.getvalue()
    assert RateDeck.objects.count() == 0


def test_a_bad_effective_date_or_map_is_refused_before_reading():
    with pytest.raises(CommandError, match="not a date"):
        run(DECKS / "bad_lines.csv", "--name=X", "--currency=EUR", "--effective-from=soon")
    with pytest.raises(CommandError, match="--map"):
        run(
            DECKS / "bad_lines.csv",
            "--name=X",
            "--currency=EUR",
            "--effective-from=2027-01-01",
            "--map=cost=Price",
        )
