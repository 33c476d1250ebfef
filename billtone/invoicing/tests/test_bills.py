"""Open invoices issued in bulk (a bill run's chunk): numbers taken as one gap-free block,
each invoice equal to its receivable transaction, nothing written when one is wrong."""

import pytest
from django.db import transaction

from billtone.core.money import Money
from billtone.invoicing.errors import InvoiceMismatch
from billtone.invoicing.models import Invoice, InvoiceSequence
from billtone.invoicing.services import OpenInvoiceIn, invoices_issue_open
from billtone.invoicing.totals import invoice_totals
from billtone.ledger.models import LedgerAccount, Transaction
from billtone.notifications.models import EmailDelivery

from .conftest import SYSTEM, issue, line, standard


def bill(account, key: str, *, legs=None, price: str = "12.00") -> OpenInvoiceIn:
    totals = invoice_totals(lines=[line(price=price)], tax=standard(), currency="EUR")
    if legs is None:
        legs = [
            ("receivable", -totals.gross),
            ("revenue_subscriptions", totals.net),
            ("tax_payable", totals.tax),
        ]
    return OpenInvoiceIn(
        profile=account.billing_profile,
        totals=totals,
        tax=standard(),
        legs=legs,
        source_key=key,
        memo="Monthly bill",
    )


def test_a_block_of_open_invoices_after_a_checkout_invoice(customer, make_account):
    other = make_account()
    issue(customer)  # INV-000001
    with transaction.atomic():
        made = invoices_issue_open(
            invoices=[bill(customer, "bill:a"), bill(other, "bill:b", price="5.00")],
            actor=SYSTEM,
            email_template="billing.bill_issued",
        )
    assert [i.number for i in made] == ["INV-000002", "INV-000003"]
    assert InvoiceSequence.objects.get().next_number == 4
    first = Invoice.objects.get(source_key="bill:a")
    assert (first.status, first.paid_at, first.gross) == (
        "open",
        None,
        Money("14.28", "EUR").amount,
    )
    assert first.lines.count() == 1 and first.taxes.get().tax == Money("2.28", "EUR").amount
    receivable = LedgerAccount.objects.get(kind="receivable", currency="EUR")
    assert receivable.balance == -(first.gross + Invoice.objects.get(source_key="bill:b").gross)
    assert EmailDelivery.objects.filter(key__in=[f"invoice:{i.pk}" for i in made]).count() == 2


def test_postings_unlike_the_invoice_write_nothing(customer):
    wrong = [
        ("receivable", Money("-14.28", "EUR")),
        ("revenue_subscriptions", Money("14.28", "EUR")),
    ]
    before = Transaction.objects.count()
    with pytest.raises(InvoiceMismatch, match="bill:wrong"), transaction.atomic():
        invoices_issue_open(
            invoices=[bill(customer, "bill:ok"), bill(customer, "bill:wrong", legs=wrong)],
            actor=SYSTEM,
            email_template="billing.bill_issued",
        )
    assert not Invoice.objects.exists() and Transaction.objects.count() == before
    with transaction.atomic():
        [made] = invoices_issue_open(
            invoices=[bill(customer, "bill:ok")], actor=SYSTEM, email_template="x"
        )
    assert made.sequence_number == 1  # no number was used by the refused block
