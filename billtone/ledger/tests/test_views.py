from django.test import Client

from billtone.core.money import Money
from billtone.ledger.services import funds_transfer, operator_ledger_account
from billtone.ledger.tests.conftest import SYSTEM, new_key


def test_overview_and_balances_page_show_both_balances(web, ledger, deposit):
    deposit(ledger.business_funds, "125.50", memo="Bank transfer RF18 5390 0754 7034")
    overview = web.get("/").content.decode()
    assert "Business funds" in overview and "€125.50" in overview and "Call credit" in overview
    page = web.get("/billing/balances/").content.decode()
    assert "Bank transfer RF18 5390 0754 7034" in page
    assert page.count("€125.50") >= 2  # the balance card and the running balance


def test_statement_lists_lines_with_running_balance(web, ledger, deposit):
    deposit(ledger.business_funds, "100.00", memo="First")
    funds_transfer(
        source=ledger.business_funds,
        destination=ledger.call_credit,
        amount=Money("30.00", "EUR"),
        kind="call_credit_topup",
        memo="Call credit top-up",
        idempotency_key=new_key(),
        actor=SYSTEM,
    )
    html = web.get("/billing/balances/business_funds/").content.decode()
    assert html.index("First") < html.index("Call credit top-up")
    assert "-€30.00" in html and "€70.00" in html
    credit = web.get("/billing/balances/call_credit/").content.decode()
    assert "Call credit top-up" in credit and "First" not in credit


def test_empty_statement_and_bad_dates(web, account):
    assert "No movements in this period." in web.get("/billing/balances/").content.decode()
    html = web.get("/billing/balances/", {"date_from": "2026-05-01", "date_to": "2026-04-01"})
    assert "The start date is after the end date." in html.content.decode()
    assert web.get("/billing/balances/", {"date_from": "yesterday"}).status_code == 200
    assert web.get("/billing/balances/nonsense/").status_code == 404


def test_another_accounts_postings_never_show(web, other_account):
    from billtone.ledger.services import customer_ledger_accounts

    theirs = customer_ledger_accounts(account=other_account)
    funds_transfer(
        source=operator_ledger_account(kind="bank_clearing", currency="GBP"),
        destination=theirs.business_funds,
        amount=Money("999.00", "GBP"),
        kind="bank_transfer",
        memo="Globex secret deposit",
        idempotency_key=new_key(),
        actor=SYSTEM,
    )
    html = web.get("/billing/balances/").content.decode()
    assert "Globex secret deposit" not in html and "999" not in html


def test_member_without_billing_rights_cannot_see_balances(member):
    client = Client()
    client.force_login(member.user)
    assert client.get("/billing/balances/").status_code == 403


def test_statement_times_are_in_the_accounts_time_zone(web, ledger, deposit):
    from datetime import UTC, datetime

    import time_machine

    with time_machine.travel(datetime(2026, 7, 1, 22, 30, tzinfo=UTC), tick=False):
        deposit(ledger.business_funds, "10.00", memo="Late deposit")
        html = web.get("/billing/balances/").content.decode()
    assert '"day">2 Jul 2026</span> <span class="time">00:30<' in html  # Berlin: UTC+2 in July
