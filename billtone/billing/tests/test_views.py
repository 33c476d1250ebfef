"""Next Bill in the Billing panel and in the API: the account's own next bills only, for its
owners and billing admins; the overview's card; a bad `count` refused as a problem."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from billtone.accounts.models import Membership
from billtone.accounts.services import member_add
from billtone.billing.tests.conftest import ACTOR, buy, card_on, fund
from billtone.catalog.models import TaxRate
from billtone.ledger.services import customer_ledger_accounts
from conftest import api_client_for, owner_of

BOUGHT = datetime(2026, 3, 10, 12, tzinfo=UTC)  # paid through 31 March
LOOKED = datetime(2026, 3, 20, 9, tzinfo=UTC)  # the next bill: 1 April in Berlin
BILL = Decimal("17.85")  # each month: the plan 12.00 and the number 3.00, 19 % VAT


@pytest.fixture
def berlin(customer_in, shop):
    account = customer_in("Europe/Berlin")
    fund(account, "50.00")
    buy(account, shop, at=BOUGHT, number=0)
    return account


def _covered(account) -> int:
    """How many bills of 17.85 the funds left after the purchase pay."""
    return int(customer_ledger_accounts(account=account).business_funds.balance // BILL)


@pytest.fixture
def london(customer_in):
    """Another account, nothing billed monthly."""
    return customer_in("Europe/London", country="GB", currency="GBP")


def _web(account) -> Client:
    client = Client()
    client.force_login(owner_of(account).user)
    return client


def test_the_page_shows_three_bills_with_lines_tax_total_and_payment(berlin):
    covered = _covered(berlin)
    assert 1 <= covered <= 2
    with time_machine.travel(LOOKED, tick=False):
        page = _web(berlin).get("/billing/next-bill/").content.decode()
    # 1 April, 1 May, 1 June in Berlin; each: the plan and the number
    for day in ("2026-04-01", "2026-05-01", "2026-06-01"):
        assert f'datetime="{day}"' in page
    assert page.count('class="bill-line"') == 6
    assert page.count("17,85\xa0€") >= 3 and "2,85\xa0€" in page and "VAT 19 %" in page
    # the funds left pay the first bills they cover, each taking its share; then nothing
    assert page.count("Paid from your <strong>business funds</strong>") == covered
    assert page.count("Neither your business funds nor a card") == 3 - covered
    assert 'href="/billing/payment-methods/bank-transfer/"' in page


def test_a_card_pays_what_funds_do_not(berlin):
    card_on(berlin)
    with time_machine.travel(LOOKED, tick=False):
        page = _web(berlin).get("/billing/next-bill/").content.decode()
    assert "Charged to your default card, <strong>Visa •••• 4242</strong>" in page
    assert "Neither your business funds" not in page


def test_overview_card_shows_the_next_bill_and_links_the_page(berlin, london):
    with time_machine.travel(LOOKED, tick=False):
        overview = _web(berlin).get("/").content.decode()
        empty = _web(london).get("/").content.decode()
    assert 'id="next-bill-card-date" datetime="2026-04-01"' in overview
    assert "17,85\xa0€" in overview and "View all future bills" in overview
    assert "Nothing is billed monthly yet." in empty


def test_another_accounts_bills_never_show(berlin, london):
    with time_machine.travel(LOOKED, tick=False):
        page = _web(london).get("/billing/next-bill/").content.decode()
        api = api_client_for(owner_of(london)).get("/api/v1/next-bill")
    assert 'id="next-bill-empty"' in page and "bill-line" not in page
    assert api.status_code == 200 and api.json() == []


def test_a_member_without_billing_rights_is_refused(berlin):
    member = member_add(
        account=berlin,
        email="member.nb@customer.example",
        password="correct horse battery",
        role=Membership.Role.MEMBER,
        actor=ACTOR,
    )
    client = Client()
    client.force_login(member.user)
    assert client.get("/billing/next-bill/").status_code == 403
    assert client.get("/api/v1/next-bill").status_code == 401  # a session is no API token
    assert api_client_for(member).get("/api/v1/next-bill").status_code == 403


def test_the_api_gives_the_bills_as_the_page(berlin):
    with time_machine.travel(LOOKED, tick=False):
        response = api_client_for(owner_of(berlin)).get("/api/v1/next-bill?count=4")
    assert response.status_code == 200
    bills = response.json()
    assert [b["issue_date"] for b in bills] == [
        "2026-04-01",
        "2026-05-01",
        "2026-06-01",
        "2026-07-01",
    ]
    first = bills[0]
    assert (first["net"], first["tax"], first["gross"]) == ("15.00", "2.85", "17.85")
    assert first["moment"].startswith("2026-03-31T22:00:00")  # midnight in Berlin (CEST)
    assert first["taxes"] == [{"rate": "19.00", "taxable": "15.00", "tax": "2.85"}]
    assert [(line["kind"], line["amount"]) for line in first["lines"]] == [
        ("plan", "12.00"),
        ("number", "3.00"),
    ]
    assert first["lines"][0]["period_start"] == "2026-04-01"
    assert first["lines"][0]["period_end"] == "2026-04-30"
    assert first["payment"] == {
        "method": "business_funds",
        "label": "Business funds",
        "warning": "",
    }
    assert bills[3]["payment"]["method"] == "none" and bills[3]["payment"]["warning"]


@pytest.mark.parametrize("count", ["0", "13", "three", "-1"])
def test_a_bad_count_is_a_problem(berlin, count):
    response = api_client_for(owner_of(berlin)).get(f"/api/v1/next-bill?count={count}")
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert "count" in response.json()["errors"]


def test_show_more_bills_and_a_bad_count_on_the_page(berlin):
    client = _web(berlin)
    with time_machine.travel(LOOKED, tick=False):
        more = client.get("/billing/next-bill/?count=6").content.decode()
        bad = client.get("/billing/next-bill/?count=many").content.decode()
    assert more.count('class="card bill"') == 6 and 'href="?count=9"' in more
    assert bad.count('class="card bill"') == 3 and 'href="?count=6"' in bad


def test_vat_not_set_up_is_said_on_the_page_and_a_409_in_the_api(berlin):
    TaxRate.objects.filter(country="DE").delete()
    with time_machine.travel(LOOKED, tick=False):
        page = _web(berlin).get("/billing/next-bill/")
        overview = _web(berlin).get("/")
        api = api_client_for(owner_of(berlin)).get("/api/v1/next-bill")
    assert page.status_code == 200 and "VAT for Germany is not set up yet" in page.content.decode()
    assert overview.status_code == 200 and "VAT for Germany" in overview.content.decode()
    assert api.status_code == 409 and api.json()["type"].endswith("tax-rate-missing")


def test_expected_auto_top_ups_on_the_page_and_before_each_bill_in_the_api(berlin):
    """Calls of 2 € a day, 20 € of call credit, auto top-up of 10 € below 5 €: 27 March, then
    every 5 days; the API gives each bill the top-ups due before it."""
    from billtone.rating.tests.topup_fixtures import credit, rated, turn_on

    with time_machine.travel(LOOKED, tick=False):
        credit(berlin, "20")
        card_on(berlin)
        turn_on(berlin, value="10", threshold="5")
        rated(berlin, "60", at=datetime(2026, 3, 19, 9, tzinfo=UTC), call_id="forecast-1")
        page = _web(berlin).get("/billing/next-bill/").content.decode()
        bills = api_client_for(owner_of(berlin)).get("/api/v1/next-bill?count=2").json()
    assert "Expected auto top-ups this month" in page
    assert page.count('class="top-up-expected"') == 5
    assert 'datetime="2026-03-27"' in page and "11,90\xa0€" in page  # 10 € and 19 % VAT
    first, second = (bill["expected_auto_top_ups"] for bill in bills)
    assert [(t["date"], t["amount"], t["gross"]) for t in first] == [
        ("2026-03-27", "10.00", "11.90")
    ]
    assert [t["date"] for t in second] == ["2026-04-01", "2026-04-06", "2026-04-11", "2026-04-16"]
    # Business funds (31.38) pay the top-up of 27 March (→ 19.48), then the bill of 1 April,
    # issued at midnight before that day's top-up (→ 1.63): the top-ups after it, the card.
    assert first[0]["method"] == "business_funds"
    assert bills[0]["payment"]["method"] == "business_funds"
    assert {t["method"] for t in second} == {"card"}
    assert second[0]["label"].endswith("•••• 4242")
    assert set(bills[0]) >= {"net", "gross", "payment", "lines"}  # the fields before stay


def test_top_ups_before_a_bill_leave_it_to_the_card_on_next_bill_and_the_overview(berlin):
    """4 € of calls a day: the top-ups of 23 and 26 March take 23.80 € of the 31.38 € of
    business funds before the bill of 1 April, which they then no longer cover: the card
    pays it, and the page, the overview's card and the API say so."""
    from billtone.rating.tests.topup_fixtures import credit, rated, turn_on

    with time_machine.travel(LOOKED, tick=False):
        credit(berlin, "20")
        card_on(berlin)
        turn_on(berlin, value="10", threshold="5")
        rated(berlin, "120", at=datetime(2026, 3, 19, 9, tzinfo=UTC), call_id="forecast-1")
        page = _web(berlin).get("/billing/next-bill/").content.decode()
        overview = _web(berlin).get("/").content.decode()
        [bill] = api_client_for(owner_of(berlin)).get("/api/v1/next-bill?count=1").json()
    funded = [t for t in bill["expected_auto_top_ups"] if t["method"] == "business_funds"]
    assert [t["date"] for t in funded] == ["2026-03-23", "2026-03-26"]
    assert bill["payment"]["method"] == "card"
    assert "Paid from your <strong>business funds</strong>" not in page
    next_bill_card = overview.split('id="next-bill-card"', 1)[1].split("</section>", 1)[0]
    assert "•••• 4242" in next_bill_card and "Business funds" not in next_bill_card
    forecast_card = overview.split('id="call-credit-forecast"', 1)[1].split("</div>", 1)[0]
    assert "from business funds" in forecast_card  # the next top-up, 23 March
