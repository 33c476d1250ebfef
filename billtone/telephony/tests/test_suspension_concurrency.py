"""Suspension against reactivation, and against a checkout, at the same moment on PostgreSQL:
whatever the order, the account's items agree with its state and each change is announced
once. Each side is a thread with its own connection; a barrier releases them together."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from billtone.core import clock
from billtone.notifications.models import WebhookDelivery
from billtone.notifications.services import WebhookEndpointInput, webhook_endpoint_save
from billtone.telephony.errors import AccountSuspended
from billtone.telephony.models import PhoneNumber, PhoneUser
from billtone.telephony.selectors import account_is_suspended
from billtone.telephony.services import (
    account_reactivate,
    account_suspend,
    items_activate,
    phone_user_create,
)

from .conftest import ACTOR, numbers_add

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="parallel connections are PostgreSQL's; SQLite runs one writer at a time",
    ),
    pytest.mark.django_db(transaction=True),
]
ROUNDS = 6


def together(*calls):
    """Run the calls at once, each in its own thread and connection; results or errors."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        try:
            barrier.wait(timeout=30)
            return call()
        except Exception as error:  # collected and asserted on by the caller
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def user_on(account, plan, extension):
    return phone_user_create(
        account=account,
        name=f"User {extension}",
        email="u@acme.example",
        extension=extension,
        plan=plan,
        actor=ACTOR,
    )


def consistent(account) -> None:
    in_service = {"active", "suspended"}
    users = set(PhoneUser.objects.filter(account=account, status__in=in_service).values_list(
        "status", flat=True
    ))  # fmt: skip
    numbers = set(PhoneNumber.objects.filter(account=account).values_list("status", flat=True))
    if account_is_suspended(account):
        assert (users, numbers) == ({"suspended"}, {"suspended"})
    else:
        assert (users, numbers) == ({"active"}, {"assigned"})


def test_suspend_and_reactivate_at_once_leave_a_consistent_account(
    account, payg_plan, nl_geographic
):
    webhook_endpoint_save(
        data=WebhookEndpointInput(url="https://pbx.example/hooks", event_types=[]), actor=ACTOR
    )
    for extension in ("201", "202", "203"):
        user_on(account, payg_plan, extension)
    numbers = numbers_add("+31201234567", "+31201234568")
    PhoneNumber.objects.filter(pk__in=[n.pk for n in numbers]).update(
        status="assigned", account=account, assigned_at=clock.now()
    )
    changes = 0
    for round_ in range(ROUNDS):
        if round_ % 2:
            changes += account_suspend(account=account, reason="unpaid", actor=ACTOR).changed
        results = together(
            lambda: account_suspend(account=account, reason="unpaid", actor=ACTOR),
            lambda: account_reactivate(account=account, actor=ACTOR),
        )
        assert all(not isinstance(r, Exception) for r in results), results
        changes += sum(r.changed for r in results)
        consistent(account)
    sent = WebhookDelivery.objects.filter(event_type__startswith="account.").count()
    assert sent == changes


def test_a_checkout_racing_a_suspension_is_refused_or_suspended_with_the_rest(
    account, payg_plan, national_plan
):
    user_on(account, payg_plan, "200")
    for round_ in range(ROUNDS):
        pending = user_on(account, national_plan, f"3{round_:02d}")

        def checkout(user_id=pending.pk):
            with transaction.atomic():
                items_activate(account=account, user_ids=[user_id], number_ids=[], at=clock.now())

        results = together(
            checkout, lambda: account_suspend(account=account, reason="unpaid", actor=ACTOR)
        )
        assert results[0] is None or isinstance(results[0], AccountSuspended), results
        pending.refresh_from_db()
        expected = "pending_payment" if results[0] else "suspended"
        assert pending.status == expected
        account_reactivate(account=account, actor=ACTOR)
        PhoneUser.objects.filter(pk=pending.pk).update(status="cancelled", cancelled_at=clock.now())
