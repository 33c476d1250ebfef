"""The deck reader (pure): decks as carriers and billing tools write them, and bad lines."""

from decimal import Decimal
from pathlib import Path

import pytest

from billtone.rating.core import Tariff
from billtone.rating.deck_columns import ColumnMapError, column_map_parse
from billtone.rating.decks import deck_read

DECKS = Path(__file__).parent / "decks"


def read(name: str, **kwargs):
    return deck_read((DECKS / name).read_bytes(), **kwargs)


def by_prefix(result) -> dict[str, Tariff]:
    return {t.prefix: t for t in result.tariffs}


def test_an_a_to_z_deck_with_bom_crlf_plus_and_00_prefixes_and_a_trailing_comma():
    result = read("az_wholesale.csv")

    assert result.errors == []
    rates = by_prefix(result)
    assert sorted(rates) == ["1", "1212", "33", "44", "447", "447700"]
    assert rates["447700"] == Tariff(
        "447700", "United Kingdom - Mobile - Vodafone", Decimal("0.0210"), Decimal("0.0100"), 30, 6
    )
    assert rates["44"].initial_increment == rates["44"].subsequent_increment == 1
    assert rates["33"].per_minute == Decimal("0.0110")
    assert result.rows_read == 7 and result.duplicates == 1  # 447 twice at one price
    assert result.columns["prefix"] == "Dial Code"
    assert result.columns["destination"] == "Country + Description"
    assert result.ignored_columns == ["Effective Date"]


def test_a_switch_billing_export_with_initial_and_subsequent_columns():
    rates = by_prefix(read("switch_billing.csv"))

    assert rates["1"] == Tariff("1", "USA", Decimal("0.0100"), Decimal(0), 60, 6)
    assert rates["91"].connection_fee == Decimal("0.0500")
    assert (rates["9198"].initial_increment, rates["9198"].subsequent_increment) == (1, 1)


def test_semicolons_and_prices_in_sub_units():
    result = read("eu_subunits.csv", sub_units=10_000)

    assert result.delimiter == ";" and result.errors == []
    rates = by_prefix(result)
    assert rates["49"].per_minute == Decimal("0.0095")
    assert rates["49151"].per_minute == Decimal("0.1250")
    assert rates["49151"].connection_fee == Decimal("0.0100")
    assert (rates["49"].initial_increment, rates["49"].subsequent_increment) == (60, 60)
    assert (rates["43"].initial_increment, rates["43"].subsequent_increment) == (30, 6)


def test_a_semicolon_deck_with_decimal_commas_and_no_increments_is_60_60():
    result = deck_read(b"Code;Name;Price\n44;UK;0,0200\n")

    assert result.tariffs == [Tariff("44", "UK", Decimal("0.0200"), Decimal(0), 60, 60)]


def test_other_headers_by_a_column_map():
    data = b"Zone ID,Called,Tarif\nUK,44,0.02\n"
    assert "no prefix column" in str(deck_read(data).errors[0])

    result = deck_read(data, column_map=column_map_parse("prefix=Called, rate=Tarif"))

    assert result.tariffs == [Tariff("44", "", Decimal("0.0200"))]
    assert result.ignored_columns == ["Zone ID"]


def test_a_column_map_that_does_not_read():
    with pytest.raises(ColumnMapError, match="unknown role"):
        column_map_parse("price=Tarif")
    with pytest.raises(ColumnMapError, match="role=Header"):
        column_map_parse("prefix")


def test_bad_lines_each_get_one_error_with_its_line_number_and_no_rates():
    result = read("bad_lines.csv")

    assert result.tariffs == []
    errors = {e.line: e.message for e in result.errors}
    assert sorted(errors) == [3, 4, 5, 6, 7, 8, 10, 11]
    assert "rate 'abc' is not a number" in errors[3]
    assert "rate '-0.01' is negative" in errors[4]
    assert "the prefix is empty" in errors[5]
    assert "prefix '44A' is not digits" in errors[6]
    assert "initial increment 0 is not between 1 and 3600" in errors[7]
    assert "subsequent increment 'x' is not a whole number" in errors[8]
    assert "lines 9 and 10" in errors[10]
    assert "more than 4 decimals" in errors[11]
    assert str(result.errors[0]).startswith("Line 3: ")


def test_a_header_without_a_rate_column_is_one_error_on_its_line():
    result = deck_read(b"\n\nprefix,destination\n44,UK\n")

    assert [e.line for e in result.errors] == [3]
    assert "no rate column" in result.errors[0].message


def test_a_multi_line_quoted_destination_keeps_the_line_numbers_of_the_file():
    result = deck_read(b'prefix,destination,rate\n44,"United\nKingdom",0.02\n45,Denmark,x\n')

    assert [e.line for e in result.errors] == [4]


def test_cells_too_large_to_be_prices_or_increments_are_line_errors():
    result = deck_read(
        b"prefix,rate,increment\n44," + b"9" * 40 + b",60\n45,0.01," + b"6" * 5000 + b"\n"
    )

    assert [e.line for e in result.errors] == [2, 3]
    assert "too large" in result.errors[0].message
    assert "not a whole number of seconds" in result.errors[1].message
