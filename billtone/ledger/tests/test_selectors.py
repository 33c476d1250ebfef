from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from billtone.accounts.services import BillingProfileInput, billing_profile_update
from billtone.core.errors import ValidationFailed
from billtone.core.money import Money
from billtone.ledger.selectors import customer_balances, customer_statement_get
from billtone.ledger.services import call_credit_limit_set, funds_transfer
from billtone.ledger.tests.conftest import SYSTEM, new_key


def at(*args):
    return time_machine.travel(datetime(*args, tzinfo=UTC), tick=False)


def top_up(ledger, amount: str, memo: str = "Top-up"):
    return funds_transfer(
        source=ledger.business_funds,
        destination=ledger.call_credit,
        amount=Money(amount, "EUR"),
        kind="top_up",
        memo=memo,
        idempotency_key=new_key("top-up"),
        actor=SYSTEM,
    )


def test_balances_are_zero_before_the_ledger_is_used(account):
    rows = customer_balances(account=account)
    assert [(r.kind, r.balance, r.credit_limit) for r in rows] == [
        ("business_funds", Money("0", "EUR"), Money("0", "EUR")),
        ("call_credit", Money("0", "EUR"), Money("0", "EUR")),
    ]


def test_balances_show_funds_credit_and_limit(account, ledger, deposit):
    deposit(ledger.business_funds, "1250.00")
    top_up(ledger, "50")
    call_credit_limit_set(account=account, limit=Money("20", "EUR"), actor=SYSTEM)
    funds, credit = customer_balances(account=account)
    assert funds.balance == Money("1200", "EUR") and funds.available == Money("1200", "EUR")
    assert credit.balance == Money("50", "EUR")
    assert credit.credit_limit == Money("20", "EUR") and credit.available == Money("70", "EUR")
    assert funds.locale == "en"  # the account has no billing country yet
    assert funds.formatted == "€1,200.00"


def test_balances_are_formatted_for_the_billing_country(account, ledger, deposit):
    deposit(ledger.business_funds, "1250.5")
    billing_profile_update(
        account=account,
        actor=SYSTEM,
        data=BillingProfileInput(
            company_name="Acme Telecom GmbH",
            billing_email="billing@acme.example",
            currency="EUR",
            timezone="Europe/Berlin",
            address_line1="Friedrichstraße 68",
            city="Berlin",
            postal_code="10117",
            country="DE",
        ),
    )
    account.billing_profile.refresh_from_db()
    assert customer_balances(account=account)[0].formatted == "1.250,50\xa0€"


def test_statement_lines_fall_on_days_of_the_accounts_time_zone(account, ledger, deposit):
    with at(2026, 1, 20, 10):
        deposit(ledger.business_funds, "100", memo="Transfer January")
    with at(2026, 1, 31, 23, 30):  # 1 February, 00:30 in Berlin
        top_up(ledger, "30", memo="Top-up at midnight")
    with at(2026, 2, 10, 8):
        top_up(ledger, "20.50", memo="Top-up in February")
    with at(2026, 3, 1, 8):
        top_up(ledger, "1", memo="Top-up in March")

    statement = customer_statement_get(
        account=account,
        kind="business_funds",
        date_from=date(2026, 2, 1),
        date_to=date(2026, 2, 28),
    )
    assert statement.timezone == "Europe/Berlin"
    assert statement.opening_balance == Money("100", "EUR")
    assert statement.closing_balance == Money("49.50", "EUR")
    assert [(line.description, line.amount, line.running_balance) for line in statement.lines] == [
        ("Top-up at midnight", Money("-30", "EUR"), Money("70", "EUR")),
        ("Top-up in February", Money("-20.50", "EUR"), Money("49.50", "EUR")),
    ]
    first = statement.lines[0]
    assert first.posted_at.date() == date(2026, 2, 1) and first.posted_at.hour == 0
    assert str(first.posted_at.tzinfo) == "Europe/Berlin"
    assert first.kind == "top_up"

    credit = customer_statement_get(
        account=account, kind="call_credit", date_from=date(2026, 1, 1), date_to=date(2026, 3, 31)
    )
    assert [line.running_balance.amount for line in credit.lines] == [
        Decimal("30"),
        Decimal("50.50"),
        Decimal("51.50"),
    ]


def test_statement_pages_keep_the_running_balance(account, ledger, deposit):
    with at(2026, 4, 2, 9):
        for n in range(5):
            deposit(ledger.business_funds, "10", memo=f"Transfer {n}")
        page = customer_statement_get(account=account, kind="business_funds", page=2, page_size=2)
    assert page.count == 5 and page.has_next
    assert page.date_from == date(2026, 4, 1) and page.date_to == date(2026, 4, 2)
    assert [line.description for line in page.lines] == ["Transfer 2", "Transfer 3"]
    assert [line.running_balance.amount for line in page.lines] == [Decimal(30), Decimal(40)]
    assert page.closing_balance == Money("50", "EUR")


def test_a_statement_before_first_use_is_empty(account):
    statement = customer_statement_get(account=account, kind="call_credit")
    assert statement.lines == [] and statement.count == 0
    assert statement.opening_balance == statement.closing_balance == Money("0", "EUR")


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"kind": "bank_clearing"}, "kind"),
        ({"date_from": date(2026, 2, 2), "date_to": date(2026, 2, 1)}, "from"),
        ({"date_from": date(2024, 12, 31), "date_to": date(2026, 1, 1)}, "to"),
        ({"page": 0}, "page"),
        ({"page_size": 201}, "page"),
    ],
)
def test_bad_statement_requests_are_refused(account, arguments, field):
    with pytest.raises(ValidationFailed) as raised:
        customer_statement_get(account=account, **({"kind": "business_funds"} | arguments))
    assert field in raised.value.errors


def test_a_statement_shows_only_the_accounts_own_postings(account, other_account, ledger, deposit):
    from billtone.ledger.services import customer_ledger_accounts

    other = customer_ledger_accounts(account=other_account)
    deposit(other.business_funds, "500")
    deposit(ledger.business_funds, "1")
    statement = customer_statement_get(account=account, kind="business_funds")
    assert [line.amount for line in statement.lines] == [Money("1", "EUR")]


def test_the_books_check_passes_on_postings_and_names_a_balance_off(ledger, deposit):
    from django.db.models import F

    from billtone.ledger.models import LedgerAccount
    from billtone.ledger.selectors import BooksCheck, books_check

    deposit(ledger.business_funds, "10.00")
    deposit(ledger.business_funds, "2.50")
    assert books_check() == BooksCheck(transactions=2, unbalanced=0, balances_off=0)
    assert books_check().ok

    LedgerAccount.objects.filter(pk=ledger.business_funds.pk).update(balance=F("balance") + 1)
    found = books_check()
    assert (found.balances_off, found.unbalanced, found.ok) == (1, 0, False)
