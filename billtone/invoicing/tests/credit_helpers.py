"""Shared by the credit note tests: an open invoice built as a bill run issues one (the
receivable debited, revenue and tax payable credited), balances, and a card-paid invoice."""

from decimal import Decimal

from django.db import transaction

from billtone.core import clock
from billtone.core.money import Money
from billtone.invoicing.models import Invoice, InvoiceLine, InvoiceTax
from billtone.invoicing.services.issue import (
    _customer_snapshot,
    _operator_snapshot,
    invoice_number,
)
from billtone.invoicing.services.sequences import sequence_take
from billtone.invoicing.tests.conftest import SYSTEM, issue, line, standard
from billtone.invoicing.totals import invoice_totals
from billtone.ledger.models import LedgerAccount
from billtone.ledger.services import (
    Leg,
    customer_ledger_accounts,
    operator_ledger_account,
    transaction_post,
)


def open_invoice(account, lines=None, tax=None, key="bill:1:2027-01") -> Invoice:
    tax = tax or standard()
    currency = account.billing_profile.currency
    totals = invoice_totals(lines=lines or [line(currency=currency)], tax=tax, currency=currency)
    with transaction.atomic():
        legs = [
            Leg(operator_ledger_account(kind="receivable", currency=currency), -totals.gross),
            Leg(
                operator_ledger_account(kind="revenue_subscriptions", currency=currency), totals.net
            ),
        ]
        payable = operator_ledger_account(kind="tax_payable", currency=currency)
        legs += [Leg(payable, e.tax) for _, e in totals.rates if not e.tax.is_zero()]
        txn = transaction_post(
            kind="bill", memo="Monthly bill", postings=legs, idempotency_key=key, actor=SYSTEM
        )
        number = sequence_take("invoice")
        now = clock.now()
        invoice = Invoice.objects.create(
            sequence_number=number,
            number=invoice_number(number),
            account=account,
            issued_at=now,
            issue_date=now.date(),
            currency=currency,
            net=totals.net.amount,
            tax=totals.tax.amount,
            gross=totals.gross.amount,
            reverse_charge=tax.reverse_charge,
            tax_mention=tax.mention,
            customer=_customer_snapshot(account.billing_profile),
            operator=_operator_snapshot(),
            ledger_transaction=txn,
            source_key=key,
            status=Invoice.Status.OPEN,
            created_by="test",
        )
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice,
                position=i,
                description=e.line.description,
                kind=e.line.kind,
                billing=e.line.billing,
                quantity=e.line.quantity,
                unit_price=e.line.unit_price.amount,
                net=e.net.amount,
                tax_rate=e.rate,
                period_start=e.line.period_start,
                period_end=e.line.period_end,
            )
            for i, e in enumerate(totals.lines, start=1)
        )
        InvoiceTax.objects.bulk_create(
            InvoiceTax(invoice=invoice, rate=r, taxable=e.taxable.amount, tax=e.tax.amount)
            for r, e in totals.rates
        )
    return invoice


def balance(ledger: LedgerAccount) -> Decimal:
    return LedgerAccount.objects.get(pk=ledger.pk).balance


def funds(account) -> Decimal:
    return balance(customer_ledger_accounts(account=account).business_funds)


def operator_balance(kind: str, currency: str = "EUR") -> Decimal:
    return balance(operator_ledger_account(kind=kind, currency=currency))


def card_paid_invoice(account, lines=None, key="basket-checkout:77", charged=None):
    """An invoice checkout paid by card: the charge (key = the invoice's) landed on business
    funds, which paid the invoice (`charged`: only that part by card, funds first)."""
    from billtone.payments.selectors import card_list
    from billtone.payments.tests.conftest import add_card, charge

    tax = standard()
    currency = account.billing_profile.currency
    totals = invoice_totals(lines=lines or [line(currency=currency)], tax=tax, currency=currency)
    card = card_list(account=account).first() or add_card(account)
    payment = charge(account, card, amount=charged or totals.gross, idempotency_key=key)
    assert payment.status == "succeeded"
    return issue(account, lines=lines, tax=tax, key=key), payment


def money(amount: str, currency: str = "EUR") -> Money:
    return Money(amount, currency)
