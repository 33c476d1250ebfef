"""items_activate: checkout's allocation of the basket's users and numbers."""

from datetime import timedelta

import pytest
from django.db import transaction

from billtone.core import clock
from billtone.telephony.errors import HoldLapsed, ItemsChanged
from billtone.telephony.models import PhoneNumber, PhoneUser
from billtone.telephony.services import (
    holds_lapse,
    items_activate,
    number_hold,
    phone_user_cancel,
    phone_user_create,
)

from .conftest import ACTOR, numbers_add


@pytest.fixture
def pending_user(account, national_plan):
    return phone_user_create(
        account=account,
        name="Ada Lovelace",
        email="ada@acme.example",
        extension="201",
        plan=national_plan,
        actor=ACTOR,
    )


def activate(account, users=(), numbers=(), at=None):
    with transaction.atomic():
        items_activate(
            account=account,
            user_ids=[user.pk for user in users],
            number_ids=[number.pk for number in numbers],
            at=at or clock.now(),
        )


def statuses(*items):
    return [type(item).objects.get(pk=item.pk).status for item in items]


def test_users_become_active_and_held_numbers_assigned(account, pending_user, number):
    number_hold(account=account, number_id=number.pk)
    at = clock.now()
    activate(account, [pending_user], [number], at=at)
    pending_user.refresh_from_db()
    number.refresh_from_db()
    assert (pending_user.status, pending_user.activated_at) == ("active", at)
    assert (number.status, number.account, number.assigned_at, number.held_until) == (
        "assigned",
        account,
        at,
        None,
    )
    assert holds_lapse() == 0


def test_a_lapsed_hold_is_refused_and_nothing_changes(account, pending_user, number):
    held = number_hold(account=account, number_id=number.pk)
    with pytest.raises(HoldLapsed, match=r"The hold on \+31 20 123 4567 has lapsed"):
        activate(account, [pending_user], [number], at=held.held_until + timedelta(seconds=1))
    assert statuses(pending_user, number) == ["pending_payment", "held"]


def test_a_number_someone_else_took_after_the_lapse_is_refused(
    account, other_account, pending_user, nl_geographic
):
    (number,) = numbers_add("+31201234568")
    number_hold(account=account, number_id=number.pk)
    PhoneNumber.objects.filter(pk=number.pk).update(account=other_account)
    with pytest.raises(HoldLapsed, match=r"\+31 20 123 4568"):
        activate(account, [pending_user], [number])
    assert statuses(pending_user) == ["pending_payment"]


def test_a_cancelled_user_is_refused_naming_it(account, pending_user, number):
    number_hold(account=account, number_id=number.pk)
    phone_user_cancel(account=account, user_id=pending_user.pk, actor=ACTOR)
    with pytest.raises(ItemsChanged, match=r"Ada Lovelace \(extension 201\) is cancelled"):
        activate(account, [pending_user], [number])
    assert statuses(number) == ["held"]


def test_another_accounts_user_is_refused(account, other_account, national_plan):
    theirs = phone_user_create(
        account=other_account,
        name="Grace Hopper",
        email="grace@globex.example",
        extension="300",
        plan=national_plan,
        actor=ACTOR,
    )
    with pytest.raises(ItemsChanged, match=f"#{theirs.pk} is no longer in this account"):
        activate(account, [theirs])
    assert statuses(theirs) == [PhoneUser.Status.PENDING_PAYMENT]


def test_an_active_user_or_assigned_number_is_not_activated_twice(account, pending_user, number):
    number_hold(account=account, number_id=number.pk)
    activate(account, [pending_user], [number])
    with pytest.raises(ItemsChanged, match="active already"):
        activate(account, [pending_user])
    with pytest.raises(ItemsChanged, match="yours already"):
        activate(account, numbers=[number])


@pytest.mark.django_db(transaction=True)
def test_it_must_run_inside_the_callers_transaction(account, pending_user):
    with pytest.raises(RuntimeError, match="inside the checkout's transaction"):
        items_activate(account=account, user_ids=[pending_user.pk], number_ids=[], at=clock.now())
