"""Ten credits of one invoice at once on PostgreSQL, each in its own transaction: those that
fit are issued with gap-free numbers CN-000001..N, the rest refused with nothing written, and
the invoice is never credited beyond its gross."""

from decimal import Decimal

import pytest
from django.db import connection

from billtone.core.errors import ApplicationError
from billtone.invoicing.models import CreditNote, Invoice, InvoiceSequence
from billtone.invoicing.services import credit_note_issue
from billtone.invoicing.tests.conftest import SYSTEM, issue, line
from billtone.invoicing.tests.credit_helpers import funds
from billtone.invoicing.tests.test_concurrency import run_together
from billtone.ledger.models import Transaction

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks and parallel connections are PostgreSQL's; SQLite has one writer",
    ),
]

CREDITORS = 10


def test_concurrent_credits_never_over_credit_and_leave_no_gap(transactional_db, customer):
    # 6 × 10.00 at 19 %: room for six credits of one, not ten.
    invoice = issue(customer, lines=[line(price="10.00", quantity=6)])
    before = funds(customer)

    def credit(i: int):
        return credit_note_issue(
            invoice_id=invoice.pk,
            lines=[(1, 1)],
            reason="Goodwill",
            refund_to="business_funds",
            actor=SYSTEM,
            idempotency_key=f"race-{i}",
        ).number

    results = run_together(credit, CREDITORS)

    issued = sorted(r for r in results if isinstance(r, str))
    refused = [r for r in results if not isinstance(r, str)]
    assert issued == [f"CN-{n:06d}" for n in range(1, 7)]
    assert len(refused) == 4 and all(isinstance(r, ApplicationError) for r in refused), refused
    invoice.refresh_from_db()
    assert invoice.credited == invoice.gross == Decimal("71.40")
    assert CreditNote.objects.count() == 6
    assert Transaction.objects.filter(kind="credit_note").count() == 6
    assert funds(customer) == before + invoice.gross
    assert InvoiceSequence.objects.get(name="credit_note").next_number == 7
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"
