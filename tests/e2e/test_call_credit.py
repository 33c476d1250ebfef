"""Issue 19's Done-when for call credit, in a real browser: the customer turns auto top-up on
(10 € below 20 €) on its page; the operator imports an Asterisk Master.csv (`billtone
import-cdrs`) with 25 minutes of calls at 1 €/min; the call charges page lists the calls
with their costs; the credit fell from 30 € to 5 € and was topped up at once by two steps
(the fewest that go above 20 €) from business funds, so the auto top-up page lists the
top-up and shows 25 €; the overview's call-credit card and Next Bill show the forecast (the
next top-ups from 25 € a month of calls). Taken at 1280 and 390 px."""

import io
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from billtone.accounts.models import BillingProfile
from billtone.catalog.models import OperatorProfile, Product, TaxRate
from billtone.catalog.selectors import operator_profile_get
from billtone.core import clock
from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.ledger.models import LedgerKind
from billtone.ledger.selectors import account_locale
from billtone.ledger.services import (
    customer_ledger_accounts,
    funds_transfer,
    operator_ledger_account,
)
from billtone.rating.models import TopUp
from billtone.telephony.models import PhoneUser

from .conftest import PHONE, VIEWPORT
from .test_layout_widths import WIDER_THAN_VIEWPORT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ACTOR = Actor.system("e2e")
BERLIN = ZoneInfo("Europe/Berlin")
DECK = "prefix,destination,rate,connection fee,initial increment,subsequent increment\n"
DECK += "49,Germany,1.0000,0,60,60\n"


def _move(source, destination, amount: str, key: str, kind: str) -> None:
    funds_transfer(
        source=source,
        destination=destination,
        amount=Money(amount, "EUR"),
        kind=kind,
        memo=kind.replace("_", " ").capitalize(),
        idempotency_key=key,
        actor=ACTOR,
    )


def _seed(account, tmp_path) -> None:
    """An operator in the Netherlands, a customer in Germany (19 % VAT) with 100 € of
    business funds, 30 € of call credit and user 201; a deck pricing Germany at 1 €/min."""
    operator_profile_get()
    OperatorProfile.objects.update(country="NL", vat_id="NL004495445B01")
    TaxRate.objects.create(country="NL", rate=Decimal("21.00"))
    TaxRate.objects.create(country="DE", rate=Decimal("19.00"))
    BillingProfile.objects.filter(account=account).update(country="DE")
    ledger = customer_ledger_accounts(account=account)
    bank = operator_ledger_account(kind=LedgerKind.BANK_CLEARING, currency="EUR")
    goodwill = operator_ledger_account(kind=LedgerKind.ADJUSTMENTS, currency="EUR")
    _move(bank, ledger.business_funds, "100.00", "e2e-funds", "bank_transfer")
    _move(goodwill, ledger.call_credit, "30.00", "e2e-credit", "adjustment")
    plan = Product.objects.create(
        code="payg", name="Pay As You Go", kind="plan", billing="monthly", included_minutes=0
    )
    PhoneUser.objects.create(
        account=account,
        name="Alice Smith",
        email="alice@customer.example",
        extension="201",
        plan=plan,
        status=PhoneUser.Status.ACTIVE,
        created_at=clock.now(),
        activated_at=clock.now(),
    )
    deck = tmp_path / "deck.csv"
    deck.write_text(DECK)
    since = (clock.now() - timedelta(days=60)).date().isoformat()
    call_command(
        "import-rate-deck", str(deck), "--name=EUR", "--currency=EUR",
        f"--effective-from={since}", stdout=io.StringIO(),
    )  # fmt: skip


def _master_csv(account, tmp_path):
    """Asterisk's cdr_csv lines (18 columns, quoted): three answered calls of 10, 10 and
    5 minutes to Berlin yesterday and one unanswered."""
    start = (clock.now() - timedelta(days=1)).astimezone(BERLIN).replace(hour=9, minute=0)
    lines = []
    for n, (seconds, disposition) in enumerate(
        [(600, "ANSWERED"), (600, "ANSWERED"), (300, "ANSWERED"), (0, "NO ANSWER")]
    ):
        begin = start + timedelta(minutes=20 * n)
        answer = begin + timedelta(seconds=5) if seconds else None
        end = begin + timedelta(seconds=5 + seconds)
        moment = "%Y-%m-%d %H:%M:%S"
        lines.append(
            f'"{account.pk}","201","0049301234567{n}","from-internal","""Alice"" <201>",'
            f'"SIP/201-0000001{n}","SIP/trunk-0000002{n}","Dial","SIP/trunk/0049301234567{n}",'
            f'"{begin:{moment}}",{f"{answer:{moment}}" if answer else ""},"{end:{moment}}",'
            f'{seconds + 5},{seconds},"{disposition}","DOCUMENTATION","17000000{n}.1",""'
        )
    path = tmp_path / "Master.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _fits(page) -> None:
    assert page.evaluate(WIDER_THAN_VIEWPORT) == [], f"{page.url} scrolls sideways at 390 px"


def test_auto_top_up_set_up_calls_imported_charged_and_topped_up(
    page, login, shot, account, tmp_path
):
    _seed(account, tmp_path)
    locale = account_locale(account=BillingProfile.objects.get(account=account).account)

    def eur(amount: str) -> str:
        return Money(amount, "EUR").format(locale)  # as the page writes it (de: 30,00 €)

    login(page, account.memberships.get(role="owner").user.email)

    # The customer turns auto top-up on: 10 € whenever the credit falls below 20 €.
    page.goto("/billing/auto-top-up/")
    expect(page.locator("#call-credit-now .amount")).to_have_text(eur("30.00"))
    page.check("#id_enabled")
    page.select_option("#id_value", Money("10", "EUR").plain())
    page.fill("#id_threshold", "20")
    page.click("#save-auto-top-up")
    expect(page.locator("#id_enabled")).to_be_checked()
    expect(page.locator("#recent-top-ups")).to_contain_text("No automatic top-ups yet")
    shot("auto-top-up-on")

    # The operator imports the switch's CDRs.
    out = io.StringIO()
    call_command(
        "import-cdrs", str(_master_csv(account, tmp_path)), "--layout=asterisk",
        "--switch-tz=Europe/Berlin", stdout=out,
    )  # fmt: skip
    assert "rated" in out.getvalue()

    # The call charges page lists the three answered calls and what they cost.
    today = clock.now().astimezone(BERLIN).date()
    page.goto(f"/billing/call-charges/?date_from={today - timedelta(days=1)}&date_to={today}")
    rows = page.locator("#call-charges-lines tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#call-charges-total")).to_contain_text("25,00\xa0€")
    expect(rows.first).to_contain_text("+4930123456")
    assert sorted(r.locator("td.num").last.inner_text() for r in rows.all()) == [
        "10,00\xa0€",
        "10,00\xa0€",
        "5,00\xa0€",
    ]
    shot("call-charges")

    # 30 € - 25 € = 5 €, below 20 €: one top-up of two steps (20 €) from business funds.
    top_up = TopUp.objects.get(account=account)
    assert (top_up.status, top_up.quantity, top_up.amount) == ("succeeded", 2, Decimal("20"))
    assert (top_up.paid_by, top_up.gross) == ("business_funds", Decimal("23.80"))
    page.goto("/billing/auto-top-up/")
    expect(page.locator("#call-credit-now .amount")).to_have_text(eur("25.00"))
    listed = page.locator(f"#top-up-{top_up.pk}")
    expect(listed).to_contain_text(eur("20"))
    expect(listed).to_contain_text(f"{eur('23.80')} · Business funds")
    expect(listed).to_contain_text("Succeeded")
    shot("auto-top-up-topped-up")

    # The forecast: 25 € of calls in 30 days; from 25 € the credit reaches 20 € in 6 days,
    # then each 10 € lasts 12 days: two top-ups within 30 days, from business funds.
    page.goto("/")
    forecast = page.locator("#balance-call_credit #call-credit-forecast")
    expect(page.locator("#balance-call_credit .amount")).to_have_text(eur("25.00"))
    expect(forecast).to_contain_text("Not expected to run out within 30 days")
    expect(forecast.locator("#call-credit-next-top-up")).to_contain_text(
        f"Next auto top-up: {eur('10.00')}"
    )
    expect(forecast).to_contain_text("from business funds (2 expected in 30 days)")
    shot("overview-forecast")

    page.goto("/billing/next-bill/")
    expected = page.locator("#expected-top-ups tr.top-up-expected")
    expect(expected).to_have_count(2)
    expect(expected.first.locator(".gross")).to_have_text(eur("11.90"))
    expect(expected.first.locator(".paid-by")).to_have_text("Business funds")
    expect(page.locator("#expected-top-ups .top-ups-total")).to_contain_text(eur("23.80"))
    shot("next-bill-expected-top-ups")

    page.set_viewport_size(PHONE)
    _fits(page)
    shot("next-bill-phone")
    page.goto("/")
    _fits(page)
    shot("overview-phone")
    page.set_viewport_size(VIEWPORT)
