"""The real statements in ../shared/bank-statements import without error; none carries one of
our references, so every credit goes to review and nothing is credited."""

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from billtone.ledger.models import Transaction
from billtone.reconciliation.models import BankEntry, StatementImport
from billtone.reconciliation.services.imports import statement_import
from billtone.reconciliation.tests.importing import STAFF

STATEMENTS = Path(__file__).resolve().parents[4] / "shared" / "bank-statements"
SOURCES = STATEMENTS / "SOURCES.tsv"


def sources() -> list:
    if not SOURCES.is_file():
        reason = f"the real statements are not here ({STATEMENTS} has no SOURCES.tsv)"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="no-statements")]
    with SOURCES.open(encoding="utf-8", newline="") as handle:
        return [pytest.param(row, id=row["file"]) for row in csv.DictReader(handle, delimiter="\t")]


@pytest.mark.parametrize("row", sources())
def test_a_real_statement_imports_and_its_credits_go_to_review(row, customer):
    path = STATEMENTS / row["file"]

    result = statement_import(source=path, actor=STAFF)
    again = statement_import(source=path, actor=STAFF)

    assert result.status == StatementImport.Status.DONE
    assert result.format == row["format"]
    assert result.credits == int(row["credit_txs"])
    assert (result.matched, result.to_review) == (0, result.credits)
    assert result.debits_ignored >= int(row["debit_entries"])
    entries = BankEntry.objects.filter(statement_import=result)
    assert entries.count() == result.credits
    assert not entries.exclude(status=BankEntry.Status.REVIEW).exists()
    assert {e.currency for e in entries} == {row["currency"]}
    assert sum(e.amount for e in entries) == Decimal(row["credit_sum"])
    assert not Transaction.objects.exists() and customer.funds == 0
    assert (again.duplicates_skipped, again.to_review) == (result.credits, 0)
