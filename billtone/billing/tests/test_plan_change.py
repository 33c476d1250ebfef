"""Billing's answer to telephony's plan changes: from the next period by default (the user
scheduled, the subscription moved to the new plan from the day after the billed period), or
today with the unused days credited (`immediate`); the next bill charges the new plan."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from billtone.basket.tests.conftest import product
from billtone.billing.selectors import next_bills
from billtone.billing.tests.conftest import ACTOR, buy, fund
from billtone.catalog.models import OperatorProfile
from billtone.core.money import Money
from billtone.invoicing.models import CreditNote, Subscription
from billtone.telephony.models import PhoneUser
from billtone.telephony.plan_change import plan_change_preview
from billtone.telephony.services import phone_user_plan_change

BOUGHT = datetime(2026, 3, 10, 12, tzinfo=UTC)  # National, paid through 31 March
CHANGED = datetime(2026, 3, 20, 9, tzinfo=UTC)


@pytest.fixture
def berlin(customer_in, shop):
    account = customer_in("Europe/Berlin")
    fund(account, "100.00")
    buy(account, shop, at=BOUGHT)
    return account


@pytest.fixture
def international(shop):
    return product("international", "plan", {"EUR": "31.00"}, included_minutes=500)


def _change(account, plan):
    user = PhoneUser.objects.get(account=account)
    with time_machine.travel(CHANGED, tick=False):
        preview = plan_change_preview(account=account, user=user, plan_id=plan.pk)
        change = phone_user_plan_change(
            account=account, user_id=user.pk, plan_id=plan.pk, actor=ACTOR
        )
    assert (preview.starts_on, preview.note) == (change.starts_on, change.note)
    return user, change


def test_by_default_the_new_plan_starts_with_the_next_period(berlin, international):
    user, change = _change(berlin, international)
    assert (change.starts_on, change.at_once, change.note) == (date(2026, 4, 1), False, "")
    old, new = Subscription.objects.filter(account=berlin).order_by("pk")
    assert (old.status, old.ends_on) == ("ended", date(2026, 3, 31))
    assert (new.product, new.unit_price, new.started_on) == (international, 31, date(2026, 4, 1))
    assert new.description == f"International plan: {user.name} (extension {user.extension})"
    with time_machine.travel(CHANGED, tick=False):
        [april] = next_bills(account=berlin, count=1)
    assert [(line.description, line.period_start) for line in april.lines] == [
        (new.description, date(2026, 4, 1))
    ]
    assert CreditNote.objects.count() == 0


def test_immediate_starts_today_and_credits_the_unused_days(berlin, international):
    OperatorProfile.objects.update(plan_change_policy="immediate")
    user, change = _change(berlin, international)
    assert (change.starts_on, change.at_once) == (date(2026, 3, 20), True)
    assert change.note == "The unused days of National are credited."
    user.refresh_from_db()
    assert user.plan == international
    old, new = Subscription.objects.filter(account=berlin).order_by("pk")
    assert (old.status, old.ends_on, new.started_on) == (
        "ended",
        date(2026, 3, 19),
        change.starts_on,
    )
    [note] = CreditNote.objects.all()
    assert (note.net, note.refund_to) == (Decimal("4.65"), "business_funds")
    assert note.reason.endswith(": plan changed, unused days after 2026-03-19"), note.reason
    with time_machine.travel(CHANGED, tick=False):
        march, april = next_bills(account=berlin, count=2)
    # the part month is caught up by the next bill run (due now), then April as usual
    assert march.due_now and april.period == date(2026, 4, 1)
    assert [(line.period_start, line.period_end, line.amount) for line in march.lines] == [
        (date(2026, 3, 20), date(2026, 3, 31), Money("12.00", "EUR"))  # 12/31 of 31.00
    ]
    assert [line.amount for line in april.lines] == [Money("31.00", "EUR")]


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="parallel connections are PostgreSQL's"
)
@pytest.mark.django_db(transaction=True)
def test_two_changes_at_once_move_the_user_once(berlin, international, shop):
    OperatorProfile.objects.update(plan_change_policy="immediate")
    user = PhoneUser.objects.get(account=berlin)
    other = product("premium", "plan", {"EUR": "40.00"})
    barrier = threading.Barrier(2)

    def change(plan):
        try:
            barrier.wait(timeout=30)
            with time_machine.travel(CHANGED, tick=False):
                return phone_user_plan_change(
                    account=berlin, user_id=user.pk, plan_id=plan.pk, actor=ACTOR
                )
        except Exception as error:  # collected and asserted on below
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(change, [international, other]))
    # one after the other (each waits for the user's lock): the second moves the unbilled
    # subscription the first made, in place, so no day is billed at the plan in between
    assert not [r for r in results if isinstance(r, Exception)], results
    user.refresh_from_db()
    [active] = Subscription.objects.filter(account=berlin, status="active")
    assert active.product == user.plan and active.started_on == date(2026, 3, 20)
    ended = Subscription.objects.filter(account=berlin, status="ended")
    assert [(s.product, s.ends_on) for s in ended] == [(shop.national, date(2026, 3, 19))]
    assert CreditNote.objects.count() == 1  # National's unused days, once


def test_a_second_immediate_change_the_same_day_moves_the_unbilled_subscription(
    berlin, international, shop
):
    OperatorProfile.objects.update(plan_change_policy="immediate")
    _change(berlin, international)
    user, change = _change(berlin, product("premium", "plan", {"EUR": "40.00"}))
    assert change.note == ""  # nothing billed on International yet: nothing to credit
    [active] = Subscription.objects.filter(account=berlin, status="active")
    assert (active.product.code, active.unit_price, active.started_on) == (
        "premium",
        40,
        date(2026, 3, 20),
    )
    assert Subscription.objects.filter(account=berlin).count() == 2
    assert CreditNote.objects.count() == 1
