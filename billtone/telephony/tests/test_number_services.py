from datetime import timedelta

import pytest
import time_machine

from billtone.catalog.selectors import operator_profile_get
from billtone.core import clock
from billtone.core.errors import NotFound, ValidationFailed
from billtone.telephony.errors import NumberUnavailable
from billtone.telephony.models import PhoneNumber
from billtone.telephony.services import (
    holds_lapse,
    number_cancel,
    number_hold,
    number_hold_extend,
    number_release,
    numbers_import,
)
from billtone.telephony.tasks import holds_lapse as task

from .conftest import ACTOR, numbers_add, product_with_prices


def test_a_free_number_is_held_for_the_operators_hold_time(account, number):
    profile = operator_profile_get()
    profile.number_hold_minutes = 20
    profile.save()
    with time_machine.travel(clock.now(), tick=False):
        held = number_hold(account=account, number_id=number.pk)
        assert held.status == PhoneNumber.Status.HELD
        assert held.account == account
        assert held.held_until == clock.now() + timedelta(minutes=20)


def test_a_number_held_by_someone_else_is_unavailable(account, other_account, number):
    number_hold(account=other_account, number_id=number.pk)
    with pytest.raises(NumberUnavailable, match="This number is no longer available."):
        number_hold(account=account, number_id=number.pk)
    number.refresh_from_db()
    assert number.account == other_account


def test_a_lapsed_hold_can_be_taken_by_another_account(account, other_account, number):
    first = number_hold(account=account, number_id=number.pk)
    with time_machine.travel(first.held_until + timedelta(seconds=1), tick=False):
        taken = number_hold(account=other_account, number_id=number.pk)
    assert (taken.status, taken.account) == (PhoneNumber.Status.HELD, other_account)


def test_holds_lapse_gives_numbers_back_to_the_inventory(account, nl_geographic):
    lapsing, live = numbers_add("+31201234567", "+31201234568")
    number_hold(account=account, number_id=lapsing.pk)
    with time_machine.travel(clock.now() + timedelta(minutes=10), tick=False):
        number_hold(account=account, number_id=live.pk)
    with time_machine.travel(clock.now() + timedelta(minutes=35), tick=False):
        assert holds_lapse() == 1
    lapsing.refresh_from_db()
    live.refresh_from_db()
    assert (lapsing.status, lapsing.account, lapsing.held_until) == ("available", None, None)
    assert (live.status, live.account) == ("held", account)


def test_release_gives_back_only_the_accounts_own_hold(account, other_account, number):
    number_hold(account=other_account, number_id=number.pk)
    assert number_release(account=account, number_id=number.pk) is False
    assert number_release(account=other_account, number_id=number.pk) is True
    number.refresh_from_db()
    assert (number.status, number.account) == ("available", None)


def test_extend_lengthens_live_holds_and_leaves_lapsed_ones(account, nl_geographic):
    live, lapsed = numbers_add("+31201234567", "+31201234568")
    number_hold(account=account, number_id=lapsed.pk)
    with time_machine.travel(clock.now() + timedelta(minutes=20), tick=False):
        number_hold(account=account, number_id=live.pk)
    with time_machine.travel(clock.now() + timedelta(minutes=40), tick=False):
        still_held = number_hold_extend(
            account=account, number_ids=[live.pk, lapsed.pk], minutes=60
        )
        assert still_held == {live.pk}
        live.refresh_from_db()
        assert live.held_until == clock.now() + timedelta(minutes=60)
    with pytest.raises(ValidationFailed):
        number_hold_extend(account=account, number_ids=[live.pk], minutes=0)


def test_a_number_not_sold_in_the_accounts_currency_cannot_be_held(account):
    product_with_prices(
        code="us-geo",
        kind="number",
        prices={"USD": "1"},
        number_country="US",
        number_type="geographic",
    )
    (us_number,) = numbers_add("+12125550123", country="US")
    with pytest.raises(ValidationFailed, match="Some fields"):
        number_hold(account=account, number_id=us_number.pk)
    with pytest.raises(NotFound):
        number_hold(account=account, number_id=us_number.pk + 1000)


def test_cancel_returns_an_assigned_number_to_the_inventory(account, other_account, number):
    PhoneNumber.objects.filter(pk=number.pk).update(
        status="assigned", account=account, assigned_at=clock.now()
    )
    with pytest.raises(NotFound):
        number_cancel(account=other_account, number_id=number.pk, actor=ACTOR)
    cancelled = number_cancel(account=account, number_id=number.pk, actor=ACTOR)
    assert (cancelled.status, cancelled.account, cancelled.assigned_at) == (
        "available",
        None,
        None,
    )


def test_import_adds_every_number_with_the_catalogs_product(nl_geographic):
    added = numbers_import(
        text="+31 20 123 4567\n+31 20 123 4568\n",
        country="nl",
        number_type="geographic",
        actor=ACTOR,
    )
    assert added == 2
    assert list(PhoneNumber.objects.values_list("e164", "country", "product", "status")) == [
        ("+31201234567", "NL", nl_geographic.pk, "available"),
        ("+31201234568", "NL", nl_geographic.pk, "available"),
    ]


def test_import_with_a_bad_line_imports_nothing_and_names_the_lines(nl_geographic):
    numbers_add("+31201234567")
    with pytest.raises(ValidationFailed) as refused:
        numbers_import(
            text="+31201234568\n+31201234567\nnonsense\n",
            country="NL",
            number_type="geographic",
            actor=ACTOR,
        )
    assert refused.value.errors["numbers"] == [
        "Line 2: +31201234567 is in the inventory already.",
        "Line 3: 'nonsense' does not start with + and the country code.",
    ]
    assert PhoneNumber.objects.count() == 1


def test_import_without_a_number_product_is_refused(db):
    with pytest.raises(ValidationFailed) as refused:
        numbers_import(text="+31612345678", country="NL", number_type="mobile", actor=ACTOR)
    assert refused.value.errors["numbers"] == ["The catalog has no mobile number product for NL."]


def test_holding_a_number_twice_says_it_is_in_the_basket(account, number):
    number_hold(account=account, number_id=number.pk)
    with pytest.raises(NumberUnavailable, match="held for you already"):
        number_hold(account=account, number_id=number.pk)


def test_the_periodic_task_gives_lapsed_holds_back(settings, account, number):
    schedule = settings.CELERY_BEAT_SCHEDULE["telephony-holds-lapse"]
    assert schedule["task"] == task.name
    held = number_hold(account=account, number_id=number.pk)
    with time_machine.travel(held.held_until + timedelta(seconds=1), tick=False):
        task.delay()
    number.refresh_from_db()
    assert number.status == PhoneNumber.Status.AVAILABLE
