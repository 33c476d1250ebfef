"""Invoices issued as checkout issues them: the ledger transaction first (business funds →
revenue and tax payable), then invoice_issue in the same database transaction."""

import itertools
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from billtone.accounts.models import BillingProfile
from billtone.catalog.models import OperatorProfile
from billtone.catalog.selectors import operator_profile_get
from billtone.catalog.tax import TaxTreatment
from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.invoicing.services import invoice_issue
from billtone.invoicing.totals import LineIn, Totals, invoice_totals
from billtone.ledger.services import (
    Leg,
    customer_ledger_accounts,
    funds_transfer,
    operator_ledger_account,
    transaction_post,
)

SYSTEM = Actor.system("test")
_keys = itertools.count(1)
REVERSE_CHARGE = (
    "Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive "
    "2006/112/EC)"
)


def standard(rate: str = "19", country: str = "DE") -> TaxTreatment:
    return TaxTreatment(rate=Decimal(rate), reverse_charge=False, mention="", country=country)


def reverse_charge(country: str = "DE") -> TaxTreatment:
    return TaxTreatment(
        rate=Decimal(0), reverse_charge=True, mention=REVERSE_CHARGE, country=country
    )


def line(
    description: str = "National plan",
    price: str = "12.00",
    quantity: int = 1,
    currency: str = "EUR",
    kind: str = "plan",
    period: tuple[date, date] | None = (date(2026, 12, 5), date(2026, 12, 31)),
    tax_rate: Decimal | None = None,
) -> LineIn:
    return LineIn(
        description=description,
        kind=kind,
        product_id=None,
        quantity=quantity,
        unit_price=Money(price, currency),
        period_start=period[0] if period else None,
        period_end=period[1] if period else None,
        billing="monthly" if period else "one_off",
        tax_rate=tax_rate,
    )


def paid(account, totals: Totals, key: str):
    """A checkout's ledger transaction for `totals`: funded first by a bank transfer."""
    currency = totals.currency
    ledger = customer_ledger_accounts(account=account)
    funds_transfer(
        source=operator_ledger_account(kind="bank_clearing", currency=currency),
        destination=ledger.business_funds,
        amount=totals.gross,
        kind="bank_transfer",
        memo="Bank transfer",
        idempotency_key=f"fund-{key}",
        actor=SYSTEM,
    )
    legs = [
        Leg(ledger.business_funds, -totals.gross),
        Leg(operator_ledger_account(kind="revenue_subscriptions", currency=currency), totals.net),
    ]
    tax_payable = operator_ledger_account(kind="tax_payable", currency=currency)
    legs += [Leg(tax_payable, entry.tax) for _, entry in totals.rates if not entry.tax.is_zero()]
    return transaction_post(
        kind="checkout", memo="Basket", postings=legs, idempotency_key=key, actor=SYSTEM
    )


def issue(account, lines=None, tax: TaxTreatment | None = None, key: str | None = None):
    tax = tax or standard()
    currency = account.billing_profile.currency
    totals = invoice_totals(lines=lines or [line(currency=currency)], tax=tax, currency=currency)
    key = key or f"checkout:{next(_keys)}"
    with transaction.atomic():
        return invoice_issue(
            account=account,
            totals=totals,
            tax=tax,
            ledger_transaction=paid(account, totals, key),
            source_key=key,
            actor=SYSTEM,
        )


def operator_profile_set():
    operator_profile_get()
    OperatorProfile.objects.filter(pk=1).update(
        legal_name="Billtone Telecom B.V.",
        street="Keizersgracht 100",
        city="Amsterdam",
        postal_code="1015 CJ",
        country="NL",
        vat_id="NL123456782B01",
        email="billing@operator.example",
    )
    return operator_profile_get()


def customer_profile_set(account):
    """A German business customer with a VAT ID."""
    BillingProfile.objects.filter(account=account).update(
        company_name="Acme Telecom GmbH",
        address_line1="Friedrichstraße 10",
        city="Berlin",
        postal_code="10117",
        country="DE",
        tax_id="DE136695976",
        timezone="Europe/Berlin",
    )
    account.refresh_from_db()
    account.billing_profile.refresh_from_db()
    return account


@pytest.fixture
def operator(db):
    return operator_profile_set()


@pytest.fixture
def customer(account, operator):
    return customer_profile_set(account)
