"""What a customer's statement says about a bank transfer: its RF reference in groups of four,
for a person; the bank's own ids stay in the back office."""

from billtone.banktransfers.references import reference_format
from billtone.ledger.selectors import customer_statement_get
from billtone.reconciliation.models import BankEntry
from billtone.reconciliation.services.imports import statement_import
from billtone.reconciliation.services.review import bank_entry_allocate
from billtone.reconciliation.tests.importing import STAFF, Credit, camt053


def lines(account) -> list[tuple[str, str, str]]:
    statement = customer_statement_get(account=account, kind="business_funds")
    return [(line.kind, line.description, line.reference) for line in statement.lines]


def test_matched_transfers_name_the_reference_they_carried(tmp_path, customer):
    request, permanent = customer.request.reference, customer.reference.reference
    statement_import(
        source=camt053(
            tmp_path,
            Credit("250.00", ref=request, bank_ref="BANK-REQ"),
            Credit("80.00", ustrd=(f"acme {permanent}",), bank_ref="BANK-ACC"),
        ),
        actor=STAFF,
    )

    assert lines(customer.account) == [
        ("bank_transfer", f"Bank transfer {reference_format(request)}", request),
        ("bank_transfer", f"Bank transfer {reference_format(permanent)}", permanent),
    ]
    assert reference_format(request).startswith("RF") and reference_format(request)[4] == " "


def test_allocated_transfers_name_the_request_staff_chose_or_none(tmp_path, customer):
    statement_import(
        source=camt053(
            tmp_path,
            Credit("240.00", ustrd=("top-up for acme",), bank_ref="B-1"),
            Credit("10.00", ustrd=("acme again",), bank_ref="B-2"),
        ),
        actor=STAFF,
    )
    first, second = BankEntry.objects.filter(status=BankEntry.Status.REVIEW).order_by("pk")
    bank_entry_allocate(entry_id=first.pk, account=customer.account, actor=STAFF)
    bank_entry_allocate(
        entry_id=second.pk, account=customer.account, bank_transfer=customer.request, actor=STAFF
    )

    reference = customer.request.reference
    assert lines(customer.account) == [
        ("bank_transfer", "Bank transfer", ""),
        ("bank_transfer", f"Bank transfer {reference_format(reference)}", reference),
    ]
