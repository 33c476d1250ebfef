"""CSV statements through a column map."""

from datetime import date
from decimal import Decimal

import pytest

from billtone.reconciliation.statements import (
    CSV,
    CsvColumnMap,
    StatementFormatError,
    statement_check,
    statement_read,
)
from billtone.reconciliation.statements.csv_file import parse_amount

GERMAN_EXPORT = (
    "Kontoauszug;Firma GmbH\n"
    "Zeitraum;01.03.2025 - 31.03.2025\n"
    "Buchungstag;Valuta;Betrag;Währung;Name;IBAN;Verwendungszweck;Zusatz;Buchungs-ID\n"
    "14.03.2025;15.03.2025;1.234,56;EUR;Acme Telecom GmbH;DE02 1203 0000 0000 2020 51;"
    '"Top-up RF18 5390\n0754 7034";danke;B-1\n'
    "14.03.2025;14.03.2025;-15,50;EUR;Telco Supplies;;Rechnung 77;;B-2\n"
    "\n"
    "16.03.2025;;0,99-;EUR;Bank;;Gebühr;;B-3\n"
)
GERMAN_MAP = CsvColumnMap(
    booking_date="Buchungstag",
    value_date="Valuta",
    amount="Betrag",
    currency="Währung",
    payer_name="Name",
    payer_iban="IBAN",
    free_text=("Verwendungszweck", "Zusatz"),
    entry_id="Buchungs-ID",
    date_format="%d.%m.%Y",
    delimiter=";",
    decimal_comma=True,
    skip_lines=2,
    account_iban="DE89 3704 0044 0532 0130 00",
    statement_id="2025-03",
)


def write(tmp_path, text: str, name: str = "statement.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_a_bank_csv_reads_through_its_column_map(tmp_path):
    result = statement_read(write(tmp_path, GERMAN_EXPORT), csv_columns=GERMAN_MAP)
    assert result.format == CSV
    credit, debit, fee = result.entries
    assert (credit.amount, credit.currency, credit.is_credit) == (Decimal("1234.56"), "EUR", True)
    assert (credit.booking_date, credit.value_date) == (date(2025, 3, 14), date(2025, 3, 15))
    assert credit.payer_name == "Acme Telecom GmbH"
    assert credit.payer_iban == "DE02120300000000202051"
    assert credit.free_text == "Top-up RF18 5390\n0754 7034\ndanke"
    assert credit.bank_reference == "B-1"
    assert credit.account_iban == "DE89370400440532013000"
    assert credit.statement_id == "2025-03"
    assert credit.line == 5  # the quoted line break makes the row two lines long
    assert (debit.amount, debit.is_credit, debit.line) == (Decimal("15.50"), False, 6)
    assert (fee.amount, fee.is_credit, fee.value_date) == (Decimal("0.99"), False, None)
    assert [e.entry_number for e in result.entries] == [1, 2, 3]
    (summary,) = result.statements
    assert (summary.credit_entries, summary.debit_entries) == (1, 2)
    assert summary.balanced is None  # a CSV has no balances to check


def test_a_credit_debit_column_gives_the_direction(tmp_path):
    text = "date,amount,dc,ref\n2025-03-14,120.00,CRDT,RF18539007547034\n2025-03-14,5,D,\n"
    columns = CsvColumnMap(
        booking_date="date",
        amount="amount",
        credit_debit="dc",
        reference="ref",
        default_currency="EUR",
    )
    credit, debit = statement_read(write(tmp_path, text), csv_columns=columns).entries
    assert (credit.is_credit, credit.structured_reference) == (True, "RF18539007547034")
    assert (debit.is_credit, debit.amount, debit.currency) == (False, Decimal(5), "EUR")


def test_separate_credit_and_debit_amount_columns(tmp_path):
    text = 'date,in,out\n2025-03-14,"1,200.00",\n2025-03-14,,30.00\n'
    columns = CsvColumnMap(
        booking_date="date", credit_amount="in", debit_amount="out", default_currency="GBP"
    )
    credit, debit = statement_read(write(tmp_path, text), csv_columns=columns).entries
    assert (credit.amount, credit.is_credit) == (Decimal("1200.00"), True)
    assert (debit.amount, debit.is_credit) == (Decimal("30.00"), False)


def test_a_bank_that_shows_credits_as_negative(tmp_path):
    text = "date,amount\n2025-03-14,-10.00\n"
    columns = CsvColumnMap(
        booking_date="date", amount="amount", default_currency="EUR", negative_is_credit=True
    )
    (entry,) = statement_read(write(tmp_path, text), csv_columns=columns).entries
    assert (entry.amount, entry.is_credit) == (Decimal("10.00"), True)


@pytest.mark.parametrize(
    ("text", "decimal_comma", "expected"),
    [
        ("1.234,56", True, Decimal("1234.56")),
        ("1 234,56-", True, Decimal("-1234.56")),
        ("-1,234.56", False, Decimal("-1234.56")),
        ("+12", False, Decimal(12)),
        ("1'000.05", False, Decimal("1000.05")),
        ("12,5.0", True, None),
        ("abc", False, None),
        ("", False, None),
    ],
)
def test_amounts_as_banks_write_them(text, decimal_comma, expected):
    assert parse_amount(text, decimal_comma=decimal_comma) == expected


def test_a_missing_column_is_an_error_on_the_header_line(tmp_path):
    text = GERMAN_EXPORT.replace(";Buchungs-ID", ";ID")
    with pytest.raises(StatementFormatError) as caught:
        statement_check(write(tmp_path, text, name="export.csv"), csv_columns=GERMAN_MAP)
    assert caught.value.line == 3
    assert str(caught.value).startswith(
        "export.csv: line 3: the entry id column 'Buchungs-ID' is missing"
    )


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ("14.03.2025;;12x;EUR;;;;;B-9", "the 'Betrag' value '12x' is not an amount"),
        ("2025-03-14;;1,00;EUR;;;;;B-9", "is not a date like %d.%m.%Y"),
        ("14.03.2025;;1,00;EURO;;;;;B-9", "the currency 'EURO' is not an ISO 4217 code"),
        ("14.03.2025;;;EUR;;;;;B-9", "the 'Betrag' column is empty"),
        ("14.03.2025;;1,00", "the row has 3 fields, the header 9"),
    ],
)
def test_a_bad_row_is_an_error_on_its_line(tmp_path, bad_row, message):
    path = write(tmp_path, GERMAN_EXPORT + bad_row + "\n", name="export.csv")
    with pytest.raises(StatementFormatError) as caught:
        statement_check(path, csv_columns=GERMAN_MAP)
    assert caught.value.line == 9
    assert caught.value.where == "row 4"
    assert message in str(caught.value)


def test_text_in_the_wrong_encoding_is_an_error(tmp_path):
    path = write(tmp_path, GERMAN_EXPORT, encoding="latin-1")
    with pytest.raises(StatementFormatError, match="not utf-8"):
        statement_check(path, csv_columns=GERMAN_MAP)
    columns = CsvColumnMap(**{**GERMAN_MAP.__dict__, "encoding": "latin-1"})
    assert len(statement_read(path, csv_columns=columns).entries) == 3


def test_an_empty_file_is_an_error(tmp_path):
    with pytest.raises(StatementFormatError, match="the file is empty"):
        statement_check(write(tmp_path, ""), csv_columns=GERMAN_MAP, format=CSV)


def test_a_csv_without_a_column_map_cannot_be_read(tmp_path):
    with pytest.raises(StatementFormatError, match="needs a column map"):
        statement_check(write(tmp_path, GERMAN_EXPORT))


@pytest.mark.parametrize(
    "options",
    [
        {"booking_date": ""},
        {"booking_date": "d"},  # no amount column
        {"booking_date": "d", "amount": "a", "credit_amount": "c", "debit_amount": "x"},
        {"booking_date": "d", "credit_amount": "c"},
        {"booking_date": "d", "amount": "a"},  # no currency
        {"booking_date": "d", "amount": "a", "default_currency": "EUR", "delimiter": ";;"},
        {"booking_date": "d", "amount": "a", "default_currency": "EUR", "encoding": "nope"},
    ],
)
def test_an_incomplete_column_map_is_refused(options):
    with pytest.raises(ValueError, match="Invalid CSV column map"):
        CsvColumnMap(**options)
