"""Cancelling a user or number through telephony ends its subscription under the operator's
cancel policy: at the end of the billed period, or at once with a credit note for the unused
days back to business funds (decision 0020)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import time_machine

from billtone.billing.services import bill_run
from billtone.billing.tests.conftest import ACTOR, buy, fund
from billtone.billing.tests.test_services import APRIL, BOUGHT
from billtone.catalog.models import OperatorProfile
from billtone.invoicing.models import CreditNote, Invoice, Subscription
from billtone.ledger.models import LedgerAccount, LedgerKind
from billtone.telephony.hooks import CancelledItem
from billtone.telephony.models import PhoneUser
from billtone.telephony.services import item_cancel

MID_MARCH = datetime(2026, 3, 20, 9, tzinfo=UTC)


def _account(customer_in, shop):
    account = customer_in("Europe/Berlin")
    fund(account, "100.00")
    buy(account, shop, at=BOUGHT, number=0)
    return account


def _funds(account) -> Decimal:
    return LedgerAccount.objects.get(account=account, kind=LedgerKind.BUSINESS_FUNDS).balance


def _user_sub(account) -> Subscription:
    return Subscription.objects.get(account=account, item_kind="phone_user")


def test_end_of_period_ends_service_and_subscription_when_the_billed_month_ends(customer_in, shop):
    account = _account(customer_in, shop)
    sub = _user_sub(account)
    with time_machine.travel(MID_MARCH, tick=False):
        cancellation = item_cancel(
            account=account, item=CancelledItem("phone_user", sub.item_id), actor=ACTOR
        )
    assert cancellation.ends_on == date(2026, 3, 31) and not cancellation.at_once
    sub.refresh_from_db()
    assert (sub.status, sub.ends_on) == ("ended", date(2026, 3, 31))
    assert PhoneUser.objects.get(pk=sub.item_id).status == "active"  # until the 31st
    assert not CreditNote.objects.exists()
    with time_machine.travel(APRIL, tick=False):
        bill_run(actor=ACTOR)
    bill = Invoice.objects.get(account=account, source_key__startswith="bill:")
    assert [line.kind for line in bill.lines.all()] == ["number"]  # the user is not billed


def test_immediate_credit_ends_today_and_credits_the_unused_days_to_funds(customer_in, shop):
    OperatorProfile.objects.update(cancel_policy="immediate_credit")
    account = _account(customer_in, shop)
    sub = _user_sub(account)
    before = _funds(account)
    with time_machine.travel(MID_MARCH, tick=False):
        cancellation = item_cancel(
            account=account, item=CancelledItem("phone_user", sub.item_id), actor=ACTOR
        )
    assert cancellation.at_once and cancellation.ends_on == date(2026, 3, 20)
    sub.refresh_from_db()
    assert (sub.status, sub.ends_on) == ("ended", date(2026, 3, 20))
    assert PhoneUser.objects.get(pk=sub.item_id).status == "cancelled"
    note = CreditNote.objects.get()
    assert note.invoice_id == sub.invoice_id and note.refund_to == "business_funds"
    # 21–31 March: 11 of 31 days of 12.00 = 4.26 net, + 19 % VAT = 5.07
    assert (note.net, note.gross) == (Decimal("4.26"), Decimal("5.07"))
    assert _funds(account) == before + Decimal("5.07")
    assert Invoice.objects.get(pk=sub.invoice_id).credited == Decimal("5.07")
