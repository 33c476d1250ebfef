"""An account suspended and reactivated: its users and numbers, the PBX's events (delivered
to a local receiver that verifies their signatures), the audit log, idempotency, and what a
suspended account may not do (add users or numbers, check them out)."""

import threading

import pytest
from django.db import transaction

from billtone.core import clock
from billtone.core.errors import ValidationFailed
from billtone.core.models import AuditEntry
from billtone.notifications.models import WebhookDelivery, WebhookEndpoint
from billtone.notifications.tests.test_webhooks import Receiver
from billtone.telephony.errors import AccountSuspended
from billtone.telephony.models import PhoneNumber, PhoneUser
from billtone.telephony.selectors import account_is_suspended
from billtone.telephony.services import (
    account_reactivate,
    account_suspend,
    items_activate,
    number_hold,
    phone_user_create,
)

from .conftest import ACTOR, numbers_add

REASON = "Invoice INV-000042 unpaid after the last reminder"


@pytest.fixture
def receiver():
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def pbx(db, receiver):
    made = WebhookEndpoint.objects.create(url=receiver.url, description="PBX")
    receiver.secret = made.secret
    return made


def user_on(account, plan, extension):
    return phone_user_create(
        account=account,
        name=f"User {extension}",
        email="u@acme.example",
        extension=extension,
        plan=plan,
        actor=ACTOR,
    )


@pytest.fixture
def items(account, payg_plan, national_plan, nl_geographic):
    """Active users 201 and 202, 203 waiting for payment, 204 cancelled; one number assigned,
    one held."""
    active = [user_on(account, payg_plan, "201"), user_on(account, payg_plan, "202")]
    pending = user_on(account, national_plan, "203")
    cancelled = user_on(account, payg_plan, "204")
    PhoneUser.objects.filter(pk=cancelled.pk).update(status="cancelled", cancelled_at=clock.now())
    assigned, held = numbers_add("+31201234567", "+31201234568")
    PhoneNumber.objects.filter(pk=assigned.pk).update(
        status="assigned", account=account, assigned_at=clock.now()
    )
    number_hold(account=account, number_id=held.pk)
    return {"active": active, "pending": pending, "cancelled": cancelled, "assigned": assigned}


def statuses(account):
    users = dict(PhoneUser.objects.filter(account=account).values_list("extension", "status"))
    numbers = dict(PhoneNumber.objects.filter(account=account).values_list("e164", "status"))
    return users, numbers


def test_suspend_then_reactivate_restores_what_was_in_service_and_tells_the_pbx(
    account, items, pbx, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        change = account_suspend(account=account, reason=REASON, actor=ACTOR)
    assert change.changed and account_is_suspended(account)
    assert statuses(account) == (
        {"201": "suspended", "202": "suspended", "203": "pending_payment", "204": "cancelled"},
        {"+31201234567": "suspended", "+31201234568": "held"},
    )
    with django_capture_on_commit_callbacks(execute=True):
        account_reactivate(account=account, actor=ACTOR)
    assert not account_is_suspended(account)
    assert statuses(account) == (
        {"201": "active", "202": "active", "203": "pending_payment", "204": "cancelled"},
        {"+31201234567": "assigned", "+31201234568": "held"},
    )

    assert receiver.refused == []  # both verified with the endpoint's secret
    suspended, reactivated = receiver.events
    users = [{"id": user.pk, "extension": user.extension} for user in items["active"]]
    numbers = [{"id": items["assigned"].pk, "e164": "+31201234567"}]
    assert suspended["type"] == "account.suspended"
    assert suspended["data"] == {
        "account_id": account.pk,
        "reason": REASON,
        "users": users,
        "numbers": numbers,
    }
    assert reactivated["type"] == "account.reactivated"
    assert reactivated["data"] == {"account_id": account.pk, "users": users, "numbers": numbers}
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}
    audit = AuditEntry.objects.filter(
        account_id=account.pk, action__in=["account.suspend", "account.reactivate"]
    )
    assert list(audit.order_by("pk").values_list("action", flat=True)) == [
        "account.suspend",
        "account.reactivate",
    ]


def test_suspending_twice_or_reactivating_an_active_account_changes_and_sends_nothing(
    account, items, pbx
):
    assert not account_reactivate(account=account, actor=ACTOR).changed
    assert WebhookDelivery.objects.count() == 0
    account_suspend(account=account, reason=REASON, actor=ACTOR)
    again = account_suspend(account=account, reason="another reason", actor=ACTOR)
    assert not again.changed and again.suspension.reason == REASON
    assert WebhookDelivery.objects.filter(event_type="account.suspended").count() == 1
    account_reactivate(account=account, actor=ACTOR)
    assert not account_reactivate(account=account, actor=ACTOR).changed
    assert WebhookDelivery.objects.filter(event_type="account.reactivated").count() == 1
    assert (
        AuditEntry.objects.filter(action__in=["account.suspend", "account.reactivate"]).count() == 2
    )


def test_a_second_suspension_is_a_new_event(account, items, pbx):
    account_suspend(account=account, reason=REASON, actor=ACTOR)
    account_reactivate(account=account, actor=ACTOR)
    account_suspend(account=account, reason=REASON, actor=ACTOR)
    assert WebhookDelivery.objects.filter(event_type="account.suspended").count() == 2
    assert statuses(account)[0]["201"] == "suspended"


def test_a_suspension_needs_a_reason_and_an_account_without_items_is_suspended_too(account):
    with pytest.raises(ValidationFailed):
        account_suspend(account=account, reason="  ", actor=ACTOR)
    assert not account_is_suspended(account)
    change = account_suspend(account=account, reason=REASON, actor=ACTOR)
    assert change.changed and (change.users, change.numbers) == ([], [])
    assert account_is_suspended(account)


def test_a_suspended_account_adds_no_users_or_numbers_and_checks_none_out(
    account, other_account, items, payg_plan, nl_geographic
):
    (free,) = numbers_add("+31201234569")
    account_suspend(account=account, reason=REASON, actor=ACTOR)
    with pytest.raises(AccountSuspended, match="pay it on the Invoices page"):
        user_on(account, payg_plan, "205")
    with pytest.raises(AccountSuspended):
        number_hold(account=account, number_id=free.pk)
    with pytest.raises(AccountSuspended), transaction.atomic():
        items_activate(
            account=account, user_ids=[items["pending"].pk], number_ids=[], at=clock.now()
        )
    assert statuses(account)[0]["203"] == "pending_payment"
    assert not PhoneUser.objects.filter(extension="205").exists()
    # another account is not concerned
    assert number_hold(account=other_account, number_id=free.pk).status == "held"


def test_the_page_and_the_api_show_the_suspension(web, api, account, items):
    account_suspend(account=account, reason=REASON, actor=ACTOR)
    page = web.get("/billing/users-numbers/").content.decode()
    assert 'id="suspended-banner"' in page
    assert "Your service is suspended</strong> because an invoice is unpaid" in page
    assert 'href="/billing/invoices/"' in page
    assert page.count('class="badge badge-suspended">Suspended</span>') == 3
    users = api.get("/api/v1/phone-users").json()["items"]
    assert [u["status"] for u in users] == ["suspended", "suspended", "pending_payment"]
    numbers = api.get("/api/v1/phone-numbers").json()["items"]
    assert [n["status"] for n in numbers] == ["suspended", "held"]
    account_reactivate(account=account, actor=ACTOR)
    assert 'id="suspended-banner"' not in web.get("/billing/users-numbers/").content.decode()


def test_the_basket_refuses_a_user_while_suspended(api, account, national_plan):
    account_suspend(account=account, reason=REASON, actor=ACTOR)
    refused = api.post(
        "/api/v1/basket/lines",
        {
            "kind": "plan",
            "product_id": national_plan.pk,
            "name": "Ada",
            "email": "ada@acme.example",
            "extension": "201",
        },
    )
    assert refused.status_code == 409, refused.content
    assert refused.json()["type"].endswith("/account-suspended")
    assert not PhoneUser.objects.filter(account=account).exists()
