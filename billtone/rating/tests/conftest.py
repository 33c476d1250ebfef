"""Decks, users, call credit and call records for the CDR ingestion tests."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billtone.accounts.models import BillingProfile
from billtone.catalog.models import Product
from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.ledger.models import LedgerKind
from billtone.ledger.services import (
    customer_ledger_accounts,
    funds_transfer,
    operator_ledger_account,
)
from billtone.rating import selectors
from billtone.rating.cdrs.records import CallRecord, Disposition
from billtone.rating.models import Rate, RateDeck
from billtone.telephony.models import PhoneUser

ACTOR = Actor.system("test")


@pytest.fixture(autouse=True)
def _prefix_tables_forgotten():
    """Each test's decks read afresh: a test database gives a deck's id again after the
    rollback, and these decks' moments of import repeat."""
    selectors._TABLES.clear()


JAN = datetime(2027, 1, 1, tzinfo=UTC)


def deck_make(*, currency="GBP", effective_from=JAN, rates=()) -> RateDeck:
    deck = RateDeck.objects.create(
        name=f"{currency} from {effective_from:%Y-%m-%d}",
        currency=currency,
        effective_from=effective_from,
        created_at=effective_from,
        rate_count=len(rates),
    )
    for prefix, name, per_minute, *rest in rates:
        fee, initial, subsequent = (rest + [Decimal(0), 60, 60][len(rest) :])[:3]
        Rate.objects.create(
            deck=deck,
            prefix=prefix,
            destination=name,
            per_minute=Decimal(per_minute),
            connection_fee=Decimal(fee),
            initial_increment=initial,
            subsequent_increment=subsequent,
        )
    return deck


def credit_add(account, amount: str) -> None:
    ledger = customer_ledger_accounts(account=account)
    currency = ledger.call_credit.currency
    funds_transfer(
        source=operator_ledger_account(kind=LedgerKind.ADJUSTMENTS, currency=currency),
        destination=ledger.call_credit,
        amount=Money(Decimal(amount), currency),
        kind="test_credit",
        memo="Test credit",
        idempotency_key=f"test-credit:{account.pk}:{amount}:{ledger.call_credit.balance}",
        actor=ACTOR,
    )


def call_credit(account):
    ledger = customer_ledger_accounts(account=account)
    ledger.call_credit.refresh_from_db()
    return ledger.call_credit.balance


def call(
    call_id,
    *,
    account,
    destination="020 7946 0958",
    source="21",
    billsec=60,
    at=datetime(2027, 1, 10, 12, 0, tzinfo=UTC),
    disposition=Disposition.ANSWERED,
) -> CallRecord:
    return CallRecord(
        call_id=call_id,
        account_code=str(account.pk) if not isinstance(account, str) else account,
        source=source,
        destination=destination,
        started_at=at,
        answered_at=at if disposition == Disposition.ANSWERED else None,
        billsec=billsec,
        disposition=disposition,
    )


@pytest.fixture
def plans(db):
    def plan(code, minutes, **fields):
        return Product.objects.create(
            code=code,
            name=code.title(),
            kind="plan",
            billing="monthly",
            included_minutes=minutes,
            **fields,
        )

    return {
        "payg": plan("payg", 0),
        "national": plan("national", 10),
        "international": plan(
            "international", 10, included_scope="countries", included_countries="FR,DE"
        ),
    }


def user_make(account, extension, plan) -> PhoneUser:
    from billtone.core import clock

    return PhoneUser.objects.create(
        account=account,
        name=f"User {extension}",
        email=f"u{extension}@example.com",
        extension=extension,
        plan=plan,
        status=PhoneUser.Status.ACTIVE,
        created_at=clock.now(),
        activated_at=clock.now(),
    )


@pytest.fixture
def gb(make_account, plans):
    """A GBP account in Great Britain with user 21 (Pay As You Go), 22 (National)."""
    account = make_account("Brit Calls Ltd", currency="GBP", timezone="Europe/London")
    BillingProfile.objects.filter(account=account).update(country="GB")
    account.refresh_from_db()
    user_make(account, "21", plans["payg"])
    user_make(account, "22", plans["national"])
    user_make(account, "23", plans["international"])
    return account


@pytest.fixture
def uk_deck(db):
    return deck_make(
        rates=[
            ("44", "United Kingdom", "0.0200"),
            ("447", "United Kingdom mobile", "0.0900", "0.0100", 30, 6),
            ("4420", "London", "0.0100", "0.0500"),
            ("33", "France", "0.0300"),
            ("1", "United States", "0.0150", "0", 1, 1),
        ]
    )


# Auto top-up's fixtures (topup_fixtures.py): an operator in NL, a customer in DE.
from billtone.rating.tests.topup_fixtures import customer, operator  # noqa: E402, F401


def holds_clear() -> None:
    """Every hold gone, as if their CDRs had come: the rows deleted and the totals put right
    (decision 0033)."""
    from billtone.rating.hold_models import CallHold
    from billtone.rating.services.hold_totals import call_hold_totals_rebuild

    CallHold.objects.all().delete()
    call_hold_totals_rebuild()
