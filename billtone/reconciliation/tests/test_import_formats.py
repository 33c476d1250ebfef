"""Import from every format: camt.053 in each schema version (hand-written and generated with
bench/gen_camt053.py), MT940 and CSV; file objects and pipes; and malformed files, which are
refused whole, naming the file and the line, with nothing written."""

import dataclasses
import importlib.util
import io
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from billtone.banktransfers.models import BankTransfer
from billtone.banktransfers.references import reference_format
from billtone.ledger.models import LedgerAccount, Posting, Transaction
from billtone.notifications.models import EmailDelivery
from billtone.reconciliation.models import BankEntry, StatementImport
from billtone.reconciliation.services.funds_emails import funds_received_emails_queue
from billtone.reconciliation.services.imports import statement_import
from billtone.reconciliation.statements import CsvColumnMap, StatementFormatError
from billtone.reconciliation.tests.importing import STAFF, Credit, camt053

ROOT = Path(__file__).resolve().parents[3]


def generator():
    spec = importlib.util.spec_from_file_location("gen_camt053", ROOT / "bench" / "gen_camt053.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_camt053", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("version", ["02", "03", "04", "05", "06", "07", "08"])
def test_camt053_in_every_version(tmp_path, customer, version):
    ref = customer.request.reference
    path = camt053(
        tmp_path,
        Credit("250.00", ref=ref),
        Credit("20.00", ustrd=(f"top-up {reference_format(customer.reference.reference)}",)),
        Credit("9.99", ustrd=("no reference",)),
        Credit("15.50", direction="DBIT", payer="Telco Supplies"),
        version=version,
    )

    result = statement_import(source=path, actor=STAFF)

    assert (result.format, result.credits, result.matched, result.to_review) == (
        "camt053",
        3,
        2,
        1,
    )
    assert result.debits_ignored == 1 and result.matched_totals == {"EUR": "270.00"}
    assert result.account_iban == "NL91ABNA0417164300"
    assert customer.funds == Decimal("270.00")
    assert BankTransfer.objects.get(pk=customer.request.pk).status == "received"


def test_a_generated_camt053_matches_exactly_the_credits_with_a_reference(tmp_path, customer):
    references = [customer.request.reference, customer.reference.reference]
    generated = generator().write_camt053(
        tmp_path / "generated.xml", entries=300, references=references, seed=7
    )

    result = statement_import(source=generated.path, actor=STAFF)

    assert result.credits == 300
    assert result.matched == generated.with_reference
    assert result.to_review == generated.with_invalid_reference + generated.without_reference
    # A mistyped reference never matches. Most read as "wrong check digits"; one whose digits,
    # read another way (matching's readings), make a valid reference of nobody's reads as an
    # unknown reference: which depends on the customer's random references.
    mistyped = BankEntry.objects.filter(
        review_reason__in=[
            BankEntry.ReviewReason.WRONG_CHECK_DIGITS,
            BankEntry.ReviewReason.UNKNOWN_REFERENCE,
        ]
    )
    assert mistyped.count() == generated.with_invalid_reference
    assert customer.funds == generated.total - sum(
        BankEntry.objects.filter(status="review").values_list("amount", flat=True)
    )
    by_reference = {}
    for entry in BankEntry.objects.filter(status="matched"):
        by_reference[entry.reference] = by_reference.get(entry.reference, 0) + 1
    assert by_reference == {r: generated.expected.count(r) for r in references}
    assert len(funds_received_emails_queue(statement_import_id=result.pk)) == result.matched
    assert EmailDelivery.objects.filter(key__startswith="funds-received:").count() == result.matched


MT940 = """{{1:F01TESTDEFFXXX0000000000}}{{2:I940TESTDEFFXXXN}}{{4:
:20:STARTUMS
:25:37040044/0532013000
:28C:00001/001
:60F:C250314EUR100,00
:61:2503140314CR250,00NTRFNONREF//BANKREF-1
:86:166?00SEPA-GUTSCHRIFT?109310?20EREF+E2E-77?21SVWZ+Top-up {first}?22{second} thanks?30COB
ADEFFXXX?31DE02120300000000202051?32ACME TELECOM GMBH
:61:2503140314D15,50NDDTNONREF
:86:105?00LASTSCHRIFT?20Telco invoice 77?32TELCO SUPPLIES LTD
:62F:C250314EUR334,50
-}}
"""


def test_mt940_with_the_reference_split_over_subfields(tmp_path, customer):
    ref = customer.request.reference
    path = tmp_path / "statement.sta"
    path.write_text(MT940.format(first=ref[:9], second=ref[9:]), encoding="latin-1")

    result = statement_import(source=path, actor=STAFF)

    assert (result.format, result.matched, result.debits_ignored) == ("mt940", 1, 1)
    entry = BankEntry.objects.get()
    assert entry.bank_transfer == customer.request and entry.payer_name == "ACME TELECOM GMBH"
    assert customer.funds == Decimal("250.00")


CSV_MAP = CsvColumnMap(
    booking_date="Date",
    amount="Amount",
    currency="Currency",
    payer_name="Name",
    payer_iban="IBAN",
    reference="Reference",
    free_text=("Description",),
    entry_id="Id",
    account_iban="NL91ABNA0417164300",
)


def csv_text(ref: str) -> str:
    return (
        "Date,Amount,Currency,Name,IBAN,Reference,Description,Id\n"
        f"2025-03-14,250.00,EUR,Acme Telecom GmbH,DE02120300000000202051,{ref},,C-1\n"
        '2025-03-14,-12.00,EUR,Bank,,,"fees",C-2\n'
        '2025-03-15,30.00,EUR,J. Doe,,,"lunch money",C-3\n'
    )


def test_csv_through_a_column_map(tmp_path, customer):
    path = tmp_path / "statement.csv"
    path.write_text(csv_text(customer.request.reference), encoding="utf-8")

    result = statement_import(source=path, actor=STAFF, csv_columns=CSV_MAP)

    assert (result.format, result.matched, result.to_review, result.debits_ignored) == (
        "csv",
        1,
        1,
        1,
    )
    assert customer.funds == Decimal("250.00")
    assert BankEntry.objects.get(status="matched").bank_reference == "C-1"


def test_a_file_object_and_a_pipe(tmp_path, customer):
    ref = customer.reference.reference
    data = camt053(tmp_path, Credit("11.00", ref=ref, bank_ref="P-1")).read_bytes()

    class Pipe(io.RawIOBase):
        """Readable once, front to back, like stdin."""

        def __init__(self, data: bytes):
            self.data = io.BytesIO(data)

        def readable(self):
            return True

        def seekable(self):
            return False

        def readinto(self, buffer):
            chunk = self.data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    first = statement_import(source=io.BytesIO(data), name="upload.xml", actor=STAFF)
    again = statement_import(source=io.BufferedReader(Pipe(data)), name="stdin", actor=STAFF)

    assert (first.file_name, first.matched) == ("upload.xml", 1)
    assert (again.file_name, again.duplicates_skipped) == ("stdin", 1)
    assert first.sha256 == again.sha256
    assert customer.funds == Decimal("11.00")


def nothing_written(customer) -> None:
    assert not StatementImport.objects.exists()
    assert not BankEntry.objects.exists()
    assert not Transaction.objects.exists() and not Posting.objects.exists()
    assert not LedgerAccount.objects.filter(kind="business_funds").exclude(balance=0).exists()
    assert not EmailDelivery.objects.filter(key__startswith="funds-received:").exists()
    assert BankTransfer.objects.get(pk=customer.request.pk).status == "awaiting_funds"


def truncated(tmp_path, customer):
    text = camt053(tmp_path, Credit("250.00", ref=customer.request.reference)).read_text()
    path = tmp_path / "cut.xml"
    path.write_text(text[: len(text) // 2 + 40])
    return {"source": path}, "cut.xml: line "


def wrong_namespace(tmp_path, customer):
    text = camt053(tmp_path, Credit("250.00", ref=customer.request.reference)).read_text()
    path = tmp_path / "camt052.xml"
    path.write_text(text.replace("camt.053.001.08", "camt.052.001.08"))
    return {"source": path}, "camt052.xml: line 2: not a camt.053 statement: the namespace is"


def mt940_without_closing_balance(tmp_path, customer):
    path = tmp_path / "open.sta"
    text = MT940.format(first=customer.request.reference, second="")
    path.write_text(text.replace(":62F:C250314EUR334,50\n", ""), encoding="latin-1")
    return {"source": path}, "open.sta: line 2, statement at line 2: the statement has no closing"


def csv_missing_a_column(tmp_path, customer):
    path = tmp_path / "export.csv"
    path.write_text(csv_text(customer.request.reference).replace(",IBAN,", ",Payer IBAN,"))
    return {"source": path, "csv_columns": CSV_MAP}, (
        "export.csv: line 1: the payer IBAN column 'IBAN' is missing"
    )


def bad_amount_in_the_last_entry(tmp_path, customer):
    ref = customer.request.reference
    path = camt053(
        tmp_path,
        Credit("250.00", ref=ref),
        Credit("10.00", ref=customer.reference.reference),
        Credit("1O.00", ref=ref),
        name="late.xml",
    )
    return {"source": path}, "late.xml: line 6, entry 3: the amount '1O.00' is not a number"


@pytest.mark.parametrize(
    "malformed",
    [
        truncated,
        wrong_namespace,
        mt940_without_closing_balance,
        csv_missing_a_column,
        bad_amount_in_the_last_entry,
    ],
)
def test_a_malformed_file_is_refused_whole_and_changes_nothing(tmp_path, customer, malformed):
    options, message = malformed(tmp_path, customer)

    with pytest.raises(StatementFormatError) as refused:
        statement_import(actor=STAFF, **options)

    assert str(refused.value).startswith(message), str(refused.value)
    nothing_written(customer)


def test_a_csv_without_a_column_map_is_refused(tmp_path, customer):
    path = tmp_path / "export.csv"
    path.write_text(csv_text(customer.request.reference))

    with pytest.raises(StatementFormatError, match="needs a column map"):
        statement_import(source=path, actor=STAFF)

    nothing_written(customer)


def test_a_missing_file_is_refused(tmp_path, customer):
    with pytest.raises(StatementFormatError, match=r"^gone.xml: cannot open it"):
        statement_import(source=tmp_path / "gone.xml", actor=STAFF)
    nothing_written(customer)


def test_skipped_credits_without_a_bank_reference_are_reported(tmp_path, customer):
    """Without the bank's entry reference the identity is the entry's content: look-alike
    payments of one day in statements cut mid-day could share it, so say so."""
    path = tmp_path / "no-ids.csv"
    path.write_text(csv_text(customer.request.reference))
    columns = dataclasses.replace(CSV_MAP, entry_id="")

    first = statement_import(source=path, actor=STAFF, csv_columns=columns)
    again = statement_import(source=path, actor=STAFF, csv_columns=columns)

    assert first.warnings == [] and first.matched == 1
    assert again.duplicates_skipped == 2
    assert again.warnings == [
        "2 credits without the bank's own reference were imported before and skipped. If an "
        "earlier statement ended in the middle of a booking day that had look-alike payments "
        "(same payer, amount and text), check that none is missing."
    ]
    assert customer.funds == Decimal("250.00")
