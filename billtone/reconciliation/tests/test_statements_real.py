"""Real bank statements from ../shared/bank-statements (never copied into the repository).

SOURCES.tsv gives each file's control counts, taken from the file by hand: the parser
must arrive at the same credit entries, credit transactions, credit sum, debit entries
and statements, and see the balances add up where the file's own balances do.
"""

import csv
import hashlib
from decimal import Decimal
from pathlib import Path

import pytest

from billtone.banktransfers.references import references_find
from billtone.reconciliation.statements import statement_read

REPO_ROOT = Path(__file__).resolve().parents[3]
STATEMENTS = REPO_ROOT.parent / "shared" / "bank-statements"
SOURCES = STATEMENTS / "SOURCES.tsv"
MISSING = f"the real statements are not here ({STATEMENTS} has no SOURCES.tsv)"


def sources() -> list:
    if not SOURCES.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason=MISSING), id="no-statements")]
    with SOURCES.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [pytest.param(row, id=row["file"]) for row in rows]


def statement(name: str) -> Path:
    path = STATEMENTS / name
    if not path.is_file():
        pytest.skip(MISSING)
    return path


@pytest.mark.parametrize("row", sources())
def test_counts_and_sums_match_the_control_counts(row):
    path = statement(row["file"])
    assert hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"], "not the listed file"
    result = statement_read(path)
    assert result.format == row["format"]
    credits, debits = result.credits, result.debits
    assert len({e.entry_number for e in credits}) == int(row["credit_entries"])
    assert len(credits) == int(row["credit_txs"])
    assert sum(e.amount for e in credits) == Decimal(row["credit_sum"])
    assert {e.currency for e in credits} == {row["currency"]}
    assert len({e.entry_number for e in debits}) == int(row["debit_entries"])
    assert len(result.statements) == int(row["statements"])
    assert sum(s.credit_transactions + s.debit_transactions for s in result.statements) == len(
        result.entries
    )
    assert len({e.identity for e in result.entries}) == len(result.entries)
    if "balances ok" in row["check"] or "balances ok" in row["notes"]:
        assert all(s.balanced is not False for s in result.statements)
        assert not [p for p in result.problems if "Balances" in p]
    if row["check"] == "TxsSummry ok":
        assert not [p for p in result.problems if "summary gives" in p]


def test_abn_amro_balances_that_were_edited_are_reported():
    """SOURCES.tsv: OPBD + CR - DR does NOT equal CLBD, off by 434.16."""
    (summary,) = statement_read(statement("oca-abnamro_camt053_001.02.xml")).statements
    assert summary.balanced is False
    assert summary.closing_balance - (
        summary.opening_balance + summary.credit_sum - summary.debit_sum
    ) == Decimal("-434.16")


def test_postfinance_batch_splits_into_two_payments_with_their_references():
    result = statement_read(statement("postfinance-bvr_camt053_001.04.xml"))
    first, second = result.entries
    assert (first.amount, second.amount) == (Decimal("2187.00"), Decimal("1296.00"))
    assert first.structured_reference == "302388292000011111111111111"
    assert second.structured_reference == "302388292000022222222222222"
    assert (first.payer_iban, second.payer_iban) == (
        "CH2222000000123456789",
        "CH3333000000123456789",
    )
    assert first.payer_name == "Banque Cantonale Vaudoise"
    # Both carry the batch's reference; they are two payments all the same.
    assert first.transaction_reference == second.transaction_reference
    assert first.identity != second.identity


def test_swiss_001_08_debtor_wrapped_in_pty_and_account_without_iban():
    (entry,) = statement_read(statement("ch-sps2_camt053_001.08.xml")).entries
    assert entry.payer_name == "PAYEE"
    assert entry.free_text == "PAYMENT INFO"
    assert (entry.account_iban, entry.account_id) == ("", "0035-2915203-10-000")
    assert entry.bank_reference == "8082230156M02SJ62/1010"


def test_sns_entries_without_details_keep_the_entry_text():
    result = statement_read(statement("sns_camt053_001.02.xml"))
    interest = [e for e in result.credits if e.counterparty_name == ""]
    assert [e.free_text for e in interest][0] == "Creditrente 01-01-26 tot 01-02-26"
    assert {e.account_iban for e in result.entries} == {
        "NL14SNSB0012345678",
        "NL78SNSB0022446688",
    }


def test_sparkasse_gvc_names_and_purpose():
    result = statement_read(statement("sparkasse_mt940_de-gvc.sta"))
    names = [e.payer_name for e in result.credits]
    assert "HANS UND ERNA SCHNEIDER" in names
    assert "SOMEONE ELSE" in names
    assert result.credits[0].free_text == "SOME DESCRIPTION MORE DESC"


def test_ing_structured_remittance_and_counterparty():
    result = statement_read(statement("ing-nl_mt940_ing-sepa.940"))
    structured = [e for e in result.credits if e.structured_reference]
    assert [e.structured_reference for e in structured] == ["9001123412341234"]
    assert structured[0].payer_name == "J.Janssen"
    assert structured[0].payer_iban == "NL32INGB0000012345"


def test_rabobank_counterparty_iban_from_the_statement_line():
    result = statement_read(statement("rabobank_mt940_rabo-structured.txt"))
    company = next(e for e in result.credits if e.payer_name == "BEDRIJF NV")
    assert company.payer_iban == "NL82RBOS0602069890"
    assert company.free_text == "Ref: 201302-080"


def test_asn_iban_and_name_from_the_statement_line():
    result = statement_read(statement("asn_mt940_asn-padded.txt"))
    assert {(e.payer_iban, e.payer_name) for e in result.credits} >= {
        ("NL56ASNB9999999999", "paulissen g j l m")
    }


@pytest.mark.parametrize("row", sources())
def test_no_real_statement_carries_a_creditor_reference(row):
    """None of these files pays an RF reference: nothing in them may be read as one."""
    result = statement_read(statement(row["file"]))
    assert result.credits
    assert [references_find(e.remittance).valid for e in result.credits] == [()] * len(
        result.credits
    )
