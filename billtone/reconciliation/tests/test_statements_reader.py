"""The single entry point: format detection, streaming and checking, entry identity."""

import hashlib
import io
from dataclasses import replace
from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billtone.reconciliation.statements import (
    CAMT053,
    CSV,
    MT940,
    CsvColumnMap,
    EntryIdentities,
    StatementEntry,
    StatementFormatError,
    entry_identity,
    statement_check,
    statement_detect,
    statement_parse,
    statement_read,
)
from billtone.reconciliation.tests.test_statements_camt053 import document, ntry, tx
from billtone.reconciliation.tests.test_statements_mt940 import GERMAN


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053', CAMT053),
        (b"\xef\xbb\xbf\n  <Document>", CAMT053),
        (b"<Invoice/>", CAMT053),  # any XML: the camt reader says what it is instead
        (b"{1:F01ASNBNL21XXXX0000000000}{2:O940ASNBNL21XXXXN}{3:}{4:\n:20:0", MT940),
        (b":940:\n:20:940S130403\n:25:NL50RABO0123456789", MT940),
        (b"\r\n:20:STARTUMS\r\n:25:20090500/0006853030", MT940),
        (b"date;amount\n2025-03-14;1,00\n", CSV),
        (b"", CSV),
    ],
)
def test_the_format_is_detected_from_the_first_bytes(head, expected):
    assert statement_detect(head) == expected


def test_an_explicit_format_overrides_detection(tmp_path):
    path = tmp_path / "statement.txt"
    path.write_text(GERMAN)
    with pytest.raises(StatementFormatError, match="the XML is malformed"):
        statement_check(path, format=CAMT053)


def test_an_unknown_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="Unknown statement format"):
        statement_parse(io.BytesIO(b""), format="qif")


def test_a_file_object_is_read_from_the_start_each_time_and_left_open(tmp_path):
    upload = io.BytesIO(GERMAN.encode())
    upload.name = "upload/from-bank.sta"
    upload.read(10)
    stream = statement_parse(upload)
    first, second = list(stream), list(stream)
    assert [e.identity for e in first] == [e.identity for e in second]
    assert not upload.closed
    assert stream.name == "from-bank.sta"
    assert len(stream.statements) == 1


class Pipe(io.RawIOBase):
    """A stream that reads once and cannot rewind, like an upload piped in."""

    def __init__(self, data: bytes):
        self.data = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, buffer):
        chunk = self.data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_a_stream_that_cannot_rewind_is_still_read_whole_twice():
    stream = statement_parse(io.BufferedReader(Pipe(GERMAN.encode())), name="pipe.sta")
    assert stream.format == MT940
    assert len(list(stream)) == len(list(stream)) == 2


@pytest.mark.parametrize("content", [b"", b"  \n\r\n"])
def test_an_empty_file_says_so(tmp_path, content):
    path = tmp_path / "empty.xml"
    path.write_bytes(content)
    with pytest.raises(StatementFormatError, match="empty.xml: the file is empty"):
        statement_check(path)


def test_a_missing_file_is_a_format_error_naming_it(tmp_path):
    with pytest.raises(StatementFormatError, match="missing.xml: cannot open it"):
        statement_check(tmp_path / "missing.xml", format=CAMT053)


def test_check_keeps_summaries_and_read_keeps_entries(tmp_path):
    path = tmp_path / "s.sta"
    path.write_text(GERMAN)
    checked, read = statement_check(path), statement_read(path)
    assert checked.entries == ()
    assert checked.statements == read.statements
    assert len(read.entries) == 2
    assert [e.is_credit for e in read.credits] == [True]
    assert [e.is_credit for e in read.debits] == [False]


# --- identity ---------------------------------------------------------------------------


def camt(tmp_path, name: str, *entries: str, statement_id: str = "S1"):
    path = tmp_path / name
    path.write_text(document("08", *entries, statement_id=statement_id))
    return path


def test_the_same_entries_keep_their_identity_across_files(tmp_path):
    """An overlapping statement: other id, other neighbours, the same bookings."""
    shared = [
        ntry("08", "10.00", acct_ref="A-1", txs=(tx("08", ustrd=("one",)),)),
        ntry("08", "20.00", txs=(tx("08", ustrd=("no bank reference",)),)),
    ]
    monday = statement_read(camt(tmp_path, "mon.xml", ntry("08", "1.00"), *shared))
    later = statement_read(
        camt(tmp_path, "week.xml", *shared, ntry("08", "2.00"), statement_id="S2")
    )
    assert [e.identity for e in monday.entries[1:]] == [e.identity for e in later.entries[:2]]
    assert monday.entries[1].identity.startswith("b-")  # the bank's reference
    assert monday.entries[2].identity.startswith("f-")  # the fallback


def test_look_alike_entries_in_one_file_stay_apart(tmp_path):
    twin = ntry("08", "25.00", txs=(tx("08", ustrd=("monthly top-up",)),))
    result = statement_read(camt(tmp_path, "twins.xml", twin, twin, twin))
    identities = [e.identity for e in result.entries]
    assert len(set(identities)) == 3
    assert identities[1] == identities[0] + "/1"
    assert identities[2] == identities[0] + "/2"
    again = statement_read(camt(tmp_path, "again.xml", twin, twin))
    assert [e.identity for e in again.entries] == identities[:2]


def test_a_shared_bank_reference_in_a_batch_does_not_merge_payments(tmp_path):
    batch = ntry(
        "04",
        "30.00",
        acct_ref="BATCH",
        txs=(
            tx("04", amount="10.00", tx_ref="PAQUET-1"),
            tx("04", amount="20.00", tx_ref="PAQUET-1"),
        ),
    )
    path = tmp_path / "b.xml"
    path.write_text(document("04", batch))
    first, second = statement_read(path).entries
    assert first.identity != second.identity


def test_the_identity_changes_with_what_makes_an_entry(tmp_path):
    path = camt(tmp_path, "one.xml", ntry("08", "10.00", txs=(tx("08", ustrd=("x",)),)))
    (entry,) = statement_read(path).entries
    assert entry_identity(entry) == entry.identity
    assert entry_identity(entry, occurrence=1) == entry.identity + "/1"
    for change in (
        {"amount": Decimal("10.01")},
        {"currency": "CHF"},
        {"is_credit": False},
        {"free_text": "y"},
        {"counterparty_iban": "DE75512108001245126199"},
        {"account_id": "DE89370400440532013001"},
        {"booking_date": entry.booking_date.replace(day=1)},
    ):
        assert entry_identity(replace(entry, **change)) != entry.identity, change
    # Written differently, the same: trailing zeros, spacing of the text.
    assert entry_identity(replace(entry, amount=Decimal("10.0"))) == entry.identity
    assert entry_identity(replace(entry, free_text=" x ")) == entry.identity


def test_identities_are_short_enough_for_a_database_column(tmp_path):
    path = camt(tmp_path, "one.xml", ntry("08", "10.00"))
    (entry,) = statement_read(path).entries
    counter = EntryIdentities()
    keys = [counter(entry) for _ in range(1000)]
    assert len(set(keys)) == 1000
    assert max(len(k) for k in keys) <= 64


def test_csv_rows_with_an_entry_id_use_it(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("d,a,id\n2025-03-14,1.00,X1\n2025-03-14,1.00,X2\n")
    columns = CsvColumnMap(booking_date="d", amount="a", entry_id="id", default_currency="EUR")
    first, second = statement_read(path, csv_columns=columns).entries
    assert first.identity.startswith("b-") and first.identity != second.identity


def documented_identity_base(entry: StatementEntry) -> str:
    """identity.py's key as first written: the importer's unique constraint depends on
    every stored identity staying exactly this."""

    def norm(text: str) -> str:
        return " ".join(text.split()) if text else ""

    account = entry.account_id.replace(" ", "").upper()
    amount = format(entry.amount.normalize(), "f")
    direction = "C" if entry.is_credit else "D"
    if entry.bank_reference:
        kind = "b-"
        parts = (account, entry.booking_date.isoformat(), direction, amount, entry.currency)
        parts += (norm(entry.bank_reference), norm(entry.transaction_reference))
        parts += (str(entry.transaction_index),)
    else:
        kind = "f-"
        parts = (account, entry.booking_date.isoformat(), direction, amount, entry.currency)
        parts += (entry.value_date.isoformat() if entry.value_date else "",)
        parts += tuple(
            norm(t)
            for t in (
                entry.structured_reference,
                entry.free_text,
                entry.end_to_end_id,
                entry.transaction_reference,
                entry.counterparty_name,
            )
        )
        parts += (entry.counterparty_iban.replace(" ", "").upper(),)
    return kind + hashlib.blake2b("\x1f".join(parts).encode(), digest_size=20).hexdigest()


texts = st.text(alphabet=" \t\nab1 ", max_size=6)
entries = st.builds(
    StatementEntry,
    amount=st.decimals(min_value=0, max_value=10**9, allow_nan=False, places=None)
    | st.sampled_from([Decimal("100"), Decimal("100.00"), Decimal("1E+2"), Decimal("0.10")])
    | st.sampled_from([Decimal("1.5E+3"), Decimal("1E-7"), Decimal("0.00"), Decimal("7.50")]),
    currency=st.sampled_from(["EUR", "CHF"]),
    is_credit=st.booleans(),
    booking_date=st.dates(),
    value_date=st.none() | st.dates(),
    counterparty_name=texts,
    counterparty_iban=st.sampled_from(["", "de02 1203 0000 0000 2020 51"]),
    structured_reference=texts,
    free_text=texts,
    end_to_end_id=texts,
    bank_reference=st.sampled_from(["", "B-1", " b  2 "]),
    transaction_reference=texts,
    account_id=st.sampled_from(["", "DE89370400440532013000", "de89 3704 0044 0532 0130 00"]),
    transaction_index=st.integers(min_value=0, max_value=3),
)


@given(entries, st.booleans())
@settings(max_examples=500)
def test_the_identity_is_the_documented_digest(entry, exponent_in_lower_case):
    """Whatever is cached or shortcut in identity.py, the key comes out as documented (also
    where the decimal context writes exponents in lower case)."""
    with localcontext() as context:
        context.capitals = 0 if exponent_in_lower_case else 1
        assert entry_identity(entry) == documented_identity_base(entry)
        assert entry_identity(entry, occurrence=2) == documented_identity_base(entry) + "/2"
