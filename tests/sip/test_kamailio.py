"""Calls through Kamailio (integrations/kamailio/kamailio.cfg) that asks Billtone.

The rate is 6.00 GBP a minute billed by the second (0.10 a second), so a few tenths of a
pound are a few seconds of call: every call here lasts seconds.
"""

import json
import socket
import urllib.request
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum

from billtone.accounts.models import BillingProfile
from billtone.core import clock
from billtone.core.services import Actor
from billtone.ledger.models import LedgerAccount, Posting
from billtone.rating.cdr_models import Cdr, EmergencyNumber
from billtone.rating.hold_models import CallHold
from billtone.rating.models import Rate, RateDeck
from billtone.telephony.models import PhoneUser
from tests.sip.conftest import _missing, billtone_serving, free_port, switch_running

pytestmark = [pytest.mark.sip, pytest.mark.skipif(bool(_missing()), reason=_missing() or "-")]

LEEDS = "01134960000"  # 44: 6.00 a minute, 1/1 increments
PER_SECOND = Decimal("0.10")


@pytest.fixture
def deck(transactional_db):
    now = clock.now()
    deck = RateDeck.objects.create(
        name="GBP", currency="GBP", effective_from=now - timedelta(days=1), created_at=now
    )
    Rate.objects.create(
        deck=deck,
        prefix="44",
        destination="United Kingdom",
        per_minute=Decimal("6.0000"),
        initial_increment=1,
        subsequent_increment=1,
    )
    EmergencyNumber.objects.get_or_create(country="", number="112")  # a flush emptied it
    return deck


@pytest.fixture
def customer(make_account, deck):
    """A GBP account in Great Britain with Pay As You Go user 21; `credit` adds call credit."""
    from billtone.catalog.models import Product
    from billtone.rating.tests.conftest import credit_add

    def make(name: str, credit: str | None):
        account = make_account(name, currency="GBP", timezone="Europe/London")
        BillingProfile.objects.filter(account=account).update(country="GB")
        plan, _ = Product.objects.get_or_create(
            code="payg", defaults={"name": "Pay As You Go", "kind": "plan", "billing": "monthly"}
        )
        PhoneUser.objects.create(
            account=account,
            name="Reception",
            email=f"reception{account.pk}@example.com",
            extension="21",
            plan=plan,
            status=PhoneUser.Status.ACTIVE,
            created_at=clock.now(),
            activated_at=clock.now(),
        )
        if credit:
            credit_add(account, credit)
        return account

    return make


def caller(account) -> str:
    return f"{account.pk}-21"


def cdrs_of(account, count: int) -> list[Cdr]:
    """The account's CDRs, once `count` have arrived (Kamailio posts each as its call ends)
    and the ingestion that stored them has committed: on SQLite the server thread shares this
    connection (an in-memory database), so its rows are visible here before the end of its
    transaction, the holds it releases after them still there."""
    import time

    from django.db import connection

    deadline = time.monotonic() + 15
    while True:
        found = list(Cdr.objects.filter(account=account).order_by("started_at", "id"))
        settled = not connection.in_atomic_block
        if (len(found) >= count and settled) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def call_credit(account) -> LedgerAccount:
    return LedgerAccount.objects.get(account=account, kind=LedgerAccount.Kind.CALL_CREDIT)


def call_charges(billtone_url, account) -> dict:
    """GET /api/v1/call-charges as the account's owner, through the live server."""
    from billtone.accounts.models import Membership
    from billtone.accounts.services import api_token_create

    membership = Membership.objects.filter(account=account).first()
    secret = api_token_create(membership=membership, name="t", actor=Actor.system("test")).secret
    request = urllib.request.Request(
        f"{billtone_url}/api/v1/call-charges", headers={"Authorization": f"Bearer {secret}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def assert_ledger_balances():
    """Every currency's postings sum to zero and each balance is the sum of its postings."""
    by_currency = Posting.objects.values("ledger_account__currency").annotate(s=Sum("amount"))
    assert all(row["s"] == 0 for row in by_currency), list(by_currency)
    for ledger in LedgerAccount.objects.all():
        total = Posting.objects.filter(ledger_account=ledger).aggregate(s=Sum("amount"))["s"]
        assert ledger.balance == (total or 0), ledger


def test_calls_connect_and_are_rated_until_the_credit_cuts_one(switch, customer, billtone_url):
    account = customer("Leeds Calls Ltd", "0.50")  # 5 seconds

    short = switch.call("call.xml", caller=caller(account), destination=LEEDS, hold_ms=1000)
    assert short.returncode == 0, short.output
    [first] = cdrs_of(account, 1)
    assert (first.status, first.disposition) == ("rated", "answered")
    assert first.billsec in (1, 2)  # held 1 s, rounded to the second (2 on a busy machine)
    assert first.charged == first.billsec * PER_SECOND

    # What is left buys 5 - billsec seconds; the caller would stay, Kamailio hangs up then.
    allowed = 5 - first.billsec
    cut = switch.call("call_cut.xml", caller=caller(account), destination=LEEDS)
    assert cut.returncode == 0, cut.output  # the caller got Kamailio's BYE
    assert switch.logged("authorize")[-1]["max_seconds"] == str(allowed)
    assert allowed - 1 <= cut.seconds < allowed + 6  # sipp's own start included
    _, second = cdrs_of(account, 2)
    assert second.status == "rated" and second.billsec in (allowed - 1, allowed)
    assert second.charged == second.billsec * PER_SECOND and not second.credit_short
    spent = PER_SECOND * (first.billsec + second.billsec)
    assert call_credit(account).balance == Decimal("0.50") - spent

    listed = call_charges(billtone_url, account)
    assert {item["id"] for item in listed["items"]} == {first.pk, second.pk}
    assert listed["seconds"] == first.billsec + second.billsec
    assert_ledger_balances()


def test_without_credit_a_call_gets_402_and_an_emergency_call_connects_free(switch, customer):
    account = customer("Broke Ltd", None)

    refused = switch.call("call_refused.xml", caller=caller(account), destination=LEEDS)
    assert refused.returncode == 0, refused.output  # the caller got 402 Payment Required
    assert switch.logged("authorize")[-1]["reason"] == "no_credit"

    emergency = switch.call("call.xml", caller=caller(account), destination="112", hold_ms=2000)
    assert emergency.returncode == 0, emergency.output
    [cdr] = cdrs_of(account, 1)
    assert (cdr.destination, cdr.disposition) == ("112", "answered") and cdr.billsec >= 2
    assert (cdr.status, cdr.reason, cdr.charged) == ("not_rated", "emergency", 0)
    assert call_credit(account).balance == 0
    assert_ledger_balances()


def test_concurrent_calls_together_never_spend_more_than_the_credit(switch, customer, billtone_url):
    account = customer("Busy Lines Ltd", "0.30")  # 3 seconds
    placed = switch.call(
        "call_any.xml", caller=caller(account), destination=LEEDS, calls=4, rate=100
    )
    assert placed.returncode == 0, placed.output  # each call: 402, or answered and cut
    asked = switch.logged("authorize")
    assert len(asked) == 4
    allowed = [a for a in asked if a["allowed"] == "true"]
    assert sum(int(a["max_seconds"]) for a in allowed) <= 3
    assert len(allowed) >= 1 and all(a["reason"] == "no_credit" for a in asked if a not in allowed)
    answered = cdrs_of(account, len(allowed))
    assert len(answered) == len(allowed)
    assert sum(cdr.billsec for cdr in answered) <= 3
    assert not any(cdr.credit_short for cdr in answered)
    balance = call_credit(account).balance
    assert balance == Decimal("0.30") - PER_SECOND * sum(cdr.billsec for cdr in answered) >= 0
    assert len(call_charges(billtone_url, account)["items"]) == len(answered)
    assert_ledger_balances()


def test_while_billtone_is_down_calls_are_refused_and_emergency_calls_pass_and_are_recorded(
    customer, operator_token, tmp_path
):
    """Fail-closed, but never for an emergency call, whose CDR Kamailio keeps and sends again
    (every second) until Billtone takes it."""
    account = customer("Careful Ltd", "5.00")
    port = free_port(socket.SOCK_STREAM)
    url = f"http://127.0.0.1:{port}"
    with switch_running(tmp_path, billtone_url=url, token=operator_token) as switch:
        refused = switch.call("call_unavailable.xml", caller=caller(account), destination=LEEDS)
        assert refused.returncode == 0, refused.output  # 503 Service Unavailable
        emergency = switch.call("call.xml", caller=caller(account), destination="112", hold_ms=200)
        assert emergency.returncode == 0, emergency.output
        assert switch.wait_logged("billtone cdrs not taken")  # the CDR tried, and kept
        assert not Cdr.objects.exists()
        with billtone_serving(port):
            [cdr] = cdrs_of(account, 1)
        assert (cdr.destination, cdr.status, cdr.reason) == ("112", "not_rated", "emergency")
    assert call_credit(account).balance == Decimal("5.00")


@pytest.mark.parametrize(
    ("uas", "disposition"), [("uas_busy.xml", "busy"), ("uas_unavailable.xml", "no_answer")]
)
def test_a_call_the_pbx_refuses_releases_the_credit_it_held(
    billtone_url, operator_token, customer, tmp_path, uas, disposition
):
    account = customer("Engaged Ltd", "0.50")
    with switch_running(tmp_path, billtone_url=billtone_url, token=operator_token, uas=uas) as sw:
        refused = sw.call("call_refused_by_pbx.xml", caller=caller(account), destination=LEEDS)
        assert refused.returncode == 0, refused.output  # the PBX's answer, relayed
        assert sw.logged("authorize")[-1]["max_seconds"] == "5"  # the whole credit, held
        [cdr] = cdrs_of(account, 1)
    assert (cdr.disposition, cdr.billsec, cdr.status) == (disposition, 0, "not_rated")
    assert not CallHold.objects.filter(account=account).exists()  # released by its call id
    assert call_credit(account).balance == Decimal("0.50")


def test_a_token_billtone_refuses_fails_closed(billtone_url, customer, tmp_path):
    """Kamailio with a revoked or mistyped token: 503 for every call (never a free call),
    the reason in its log; emergency calls still pass."""
    account = customer("Careful Ltd", "5.00")
    with switch_running(tmp_path, billtone_url=billtone_url, token="bt_not_a_token") as sw:
        refused = sw.call("call_unavailable.xml", caller=caller(account), destination=LEEDS)
        assert refused.returncode == 0, refused.output  # 503 Service Unavailable
        assert sw.wait_logged("billtone cannot authorize: rc=401")
        emergency = sw.call("call.xml", caller=caller(account), destination="112", hold_ms=200)
        assert emergency.returncode == 0, emergency.output
    assert not CallHold.objects.filter(account=account).exists()
    assert call_credit(account).balance == Decimal("5.00")
