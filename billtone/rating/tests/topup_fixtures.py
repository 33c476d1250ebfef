"""Fixtures of the auto top-up tests: an operator in the Netherlands, a customer in Germany
(19 % VAT) billed in EUR, its money moved through the ledger's own services."""

from datetime import datetime
from decimal import Decimal

import pytest
from django.test import TestCase

from billtone.accounts.models import Account, BillingProfile
from billtone.catalog.models import OperatorProfile, TaxRate
from billtone.catalog.selectors import operator_profile_get
from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.ledger.models import LedgerKind
from billtone.ledger.services import (
    customer_ledger_accounts,
    funds_transfer,
    operator_ledger_account,
)
from billtone.payments.services import auto_payments_set, card_add
from billtone.rating.cdr_models import Cdr, CdrBatch
from billtone.rating.services import (
    AutoTopUpInput,
    auto_top_up_settings_save,
    call_credit_debited,
)

ACTOR = Actor.system("test")
SUCCEEDS = "4242424242424242"
DECLINES = "4000000000000002"
_keys = iter(range(1, 10**9))


@pytest.fixture
def operator(db) -> OperatorProfile:
    operator_profile_get()
    OperatorProfile.objects.update(country="NL", vat_id="NL004495445B01")
    TaxRate.objects.create(country="NL", rate=Decimal("21.00"))
    TaxRate.objects.create(country="DE", rate=Decimal("19.00"))
    return operator_profile_get()


@pytest.fixture
def customer(make_account, operator) -> Account:
    account = make_account(currency="EUR", timezone="Europe/Berlin")
    BillingProfile.objects.filter(account=account).update(country="DE")
    return Account.objects.select_related("billing_profile").get(pk=account.pk)


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def fund(account: Account, amount: str) -> None:
    """Business funds arrive by bank transfer."""
    funds_transfer(
        source=operator_ledger_account(kind=LedgerKind.BANK_CLEARING, currency="EUR"),
        destination=customer_ledger_accounts(account=account).business_funds,
        amount=eur(amount),
        kind="bank_transfer",
        memo="Bank transfer",
        idempotency_key=f"fund-{next(_keys)}",
        actor=ACTOR,
    )


def credit(account: Account, amount: str) -> None:
    """Call credit given (goodwill)."""
    funds_transfer(
        source=operator_ledger_account(kind=LedgerKind.ADJUSTMENTS, currency="EUR"),
        destination=customer_ledger_accounts(account=account).call_credit,
        amount=eur(amount),
        kind="adjustment",
        memo="Goodwill",
        idempotency_key=f"credit-{next(_keys)}",
        actor=ACTOR,
    )


def spend(account: Account, amount: str) -> None:
    """Calls debited from call credit, as the CDR ingestion debits them."""
    funds_transfer(
        source=customer_ledger_accounts(account=account).call_credit,
        destination=operator_ledger_account(kind=LedgerKind.REVENUE_CALLS, currency="EUR"),
        amount=eur(amount),
        kind="calls",
        memo="Calls",
        idempotency_key=f"calls-{next(_keys)}",
        actor=ACTOR,
    )


def call_credit_of(account: Account) -> Money:
    return eur(customer_ledger_accounts(account=account).call_credit.balance)


def funds_of(account: Account) -> Money:
    return eur(customer_ledger_accounts(account=account).business_funds.balance)


def card_on(account: Account, number: str = SUCCEEDS) -> None:
    card_add(
        account=account,
        number=number,
        exp_month=11,
        exp_year=2035,
        cvc="737",
        holder_name="Ada Lovelace",
        actor=ACTOR,
    )
    auto_payments_set(account=account, enabled=True, actor=ACTOR)


def committed():
    """Run what waits for the commit (the test's transaction never commits) at the block's
    end: the check scheduled by turning auto top-up on or by the hook, emails."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def debited(account: Account) -> None:
    """The CDR ingestion's hook after its debit committed."""
    with committed():
        call_credit_debited(account_id=account.pk)


def turn_on(account: Account, value="10", threshold="5", level=None):
    with committed():
        return auto_top_up_settings_save(
            account=account,
            data=AutoTopUpInput(
                enabled=True,
                value=eur(value),
                threshold=eur(threshold),
                low_credit_level=eur(level) if level is not None else None,
            ),
            actor=ACTOR,
        )


def rated(account: Account, charged: str, *, at: datetime, call_id: str, status="rated") -> None:
    """A call as the ingestion stores it once rated (its debit is the test's own business)."""
    batch = CdrBatch.objects.create(source="test", created_at=at)
    Cdr.objects.create(
        call_id=call_id,
        batch=batch,
        account=account,
        destination="+4930123456",
        started_at=at,
        billsec=60,
        disposition="ANSWERED",
        status=status,
        reason="" if status == "rated" else "unanswered",
        currency="EUR",
        cost=Decimal(charged),
        charged=Decimal(charged),
    )
