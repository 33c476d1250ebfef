"""A customer cancels a user or a number: asked of, and told to, a registered listener (a fake
here: billing registers the real one), at once or at the end of the period already billed,
finished on its date with a frozen clock; refused for another account's item, one waiting
for payment, one cancelled already. Through the service, the page and the API."""

from datetime import date, datetime

import pytest
from django.conf import settings

from billtone.core import clock
from billtone.core.errors import ApplicationError, NotFound
from billtone.notifications.models import WebhookDelivery
from billtone.telephony import hooks
from billtone.telephony.errors import NotCancellable
from billtone.telephony.models import PhoneNumber, PhoneUser
from billtone.telephony.selectors import cancellation_preview
from billtone.telephony.services import (
    account_reactivate,
    account_suspend,
    cancellations_finish,
    item_cancel,
    number_hold,
    phone_user_create,
)
from billtone.telephony.tasks import cancellations_finish as finish_task

from .conftest import ACTOR, BERLIN, NOW

pytestmark = pytest.mark.usefixtures("frozen", "pbx_endpoint")
PAID_THROUGH = date(2027, 1, 31)


class FakeBilling:
    """What billing will register: the end of the period already billed; it records what it
    was told."""

    def __init__(self):
        self.ends_on: date | None = PAID_THROUGH
        self.told: list[tuple] = []
        self.refuse = False

    def service_ends_on(self, *, account, item, today):
        return self.ends_on

    def cancelled(self, *, account, item, ends_on, at):
        if self.refuse:
            raise ApplicationError(detail="The subscription cannot end now.", status=409)
        self.told.append((account.pk, item.kind, item.id, ends_on))


@pytest.fixture
def billing():
    fake = FakeBilling()
    hooks.cancellation_register(
        hooks.CancellationListener(
            name="test-billing", service_ends_on=fake.service_ends_on, cancelled=fake.cancelled
        )
    )
    yield fake
    hooks.cancellation_unregister("test-billing")


@pytest.fixture
def user(account, payg_plan):
    return phone_user_create(
        account=account,
        name="Ada",
        email="ada@acme.example",
        extension="201",
        plan=payg_plan,
        actor=ACTOR,
    )


@pytest.fixture
def assigned(account, number):
    PhoneNumber.objects.filter(pk=number.pk).update(
        status="assigned", account=account, assigned_at=clock.now()
    )
    number.refresh_from_db()
    return number


def as_item(obj) -> hooks.CancelledItem:
    kind = hooks.PHONE_NUMBER if isinstance(obj, PhoneNumber) else hooks.PHONE_USER
    return hooks.CancelledItem(kind=kind, id=obj.pk)


def cancelled_events():
    return list(
        WebhookDelivery.objects.filter(event_type="items.cancelled")
        .order_by("pk")
        .values_list("payload", flat=True)
    )


def test_without_a_listener_the_service_ends_today_at_once(account, user, assigned):
    preview = cancellation_preview(account=account, item=user)
    assert (preview.ends_on, preview.at_once) == (date(2027, 1, 12), True)
    item_cancel(account=account, item=as_item(user), actor=ACTOR)
    item_cancel(account=account, item=as_item(assigned), actor=ACTOR)
    user.refresh_from_db()
    assigned.refresh_from_db()
    assert user.status == "cancelled" and user.cancelled_at == NOW
    assert (assigned.status, assigned.account_id) == ("available", None)
    assert [(p["users"], p["numbers"]) for p in cancelled_events()] == [
        ([{"id": user.pk, "name": "Ada", "email": "ada@acme.example", "extension": "201",
           "plan": "pay-as-you-go"}], []),
        ([], [{"id": assigned.pk, "e164": "+31201234567"}]),
    ]  # fmt: skip


def test_with_billing_it_ends_on_the_paid_through_day_and_finishes_the_day_after(
    account, user, assigned, billing, frozen, payg_plan
):
    preview = cancellation_preview(account=account, item=user)
    assert (preview.ends_on, preview.at_once, preview.name) == (
        PAID_THROUGH,
        False,
        "Ada (extension 201)",
    )
    for item in (user, assigned):
        done = item_cancel(account=account, item=as_item(item), actor=ACTOR)
        assert (done.ends_on, done.at_once) == (PAID_THROUGH, False)
    assert billing.told == [
        (account.pk, "phone_user", user.pk, PAID_THROUGH),
        (account.pk, "phone_number", assigned.pk, PAID_THROUGH),
    ]
    user.refresh_from_db()
    assigned.refresh_from_db()
    assert (user.status, user.cancels_on) == ("active", PAID_THROUGH)
    assert (assigned.status, assigned.cancels_on) == ("assigned", PAID_THROUGH)
    assert cancelled_events() == []

    # 31 Jan, 23:59 in Berlin (22:59 UTC): still the last day of service
    frozen.move_to(datetime(2027, 1, 31, 23, 59, tzinfo=BERLIN))
    assert cancellations_finish() == 0
    # 1 Feb, 00:00 in Berlin (31 Jan, 23:00 UTC): over
    frozen.move_to(datetime(2027, 2, 1, 0, 0, tzinfo=BERLIN))
    finish_task.delay()
    assert cancellations_finish() == 0  # a second run finds nothing left
    user.refresh_from_db()
    assigned.refresh_from_db()
    assert user.status == "cancelled" and user.cancelled_at == datetime(2027, 2, 1, tzinfo=BERLIN)
    assert (assigned.status, assigned.account_id, assigned.cancels_on) == ("available", None, None)
    assert len(cancelled_events()) == 2
    assert len(billing.told) == 2  # told when asked, not again
    # the extension is free again, and the number back on offer
    phone_user_create(
        account=account, name="Bo", email="bo@acme.example", extension="201", plan=payg_plan,
        actor=ACTOR,
    )  # fmt: skip
    assert PhoneNumber.objects.get(pk=assigned.pk).status == "available"


def test_the_finishing_task_is_scheduled():
    schedule = settings.CELERY_BEAT_SCHEDULE["telephony-cancellations-finish"]
    assert schedule["task"] == "billtone.telephony.tasks.cancellations_finish"


def test_a_suspended_item_is_cancellable_and_finishes_while_suspended(
    account, user, billing, frozen
):
    account_suspend(account=account, reason="unpaid", actor=ACTOR)
    item_cancel(account=account, item=as_item(user), actor=ACTOR)
    frozen.move_to(datetime(2027, 2, 1, 9, 0, tzinfo=BERLIN))
    assert cancellations_finish() == 1
    account_reactivate(account=account, actor=ACTOR)
    user.refresh_from_db()
    assert user.status == "cancelled"


def test_refusals_change_nothing(account, other_account, user, national_plan, number, billing):
    theirs = phone_user_create(
        account=other_account,
        name="Not Mine",
        email="n@globex.example",
        extension="300",
        plan=user.plan,
        actor=ACTOR,
    )
    pending = phone_user_create(
        account=account,
        name="Bo",
        email="bo@acme.example",
        extension="202",
        plan=national_plan,
        actor=ACTOR,
    )
    number_hold(account=account, number_id=number.pk)
    with pytest.raises(NotFound):
        item_cancel(account=account, item=as_item(theirs), actor=ACTOR)
    with pytest.raises(NotCancellable, match="take it out with the basket's bin"):
        item_cancel(account=account, item=as_item(pending), actor=ACTOR)
    with pytest.raises(NotCancellable, match="take it out with the basket's bin"):
        item_cancel(account=account, item=as_item(number), actor=ACTOR)
    item_cancel(account=account, item=as_item(user), actor=ACTOR)
    with pytest.raises(NotCancellable, match="cancelled already: its service ends on 31 Jan 2027"):
        item_cancel(account=account, item=as_item(user), actor=ACTOR)
    billing.ends_on = None
    with pytest.raises(NotCancellable, match="cancelled already"):
        PhoneUser.objects.filter(pk=user.pk).update(status="cancelled", cancelled_at=NOW)
        item_cancel(account=account, item=as_item(user), actor=ACTOR)
    assert len(billing.told) == 1
    assert PhoneUser.objects.get(pk=pending.pk).status == "pending_payment"
    assert PhoneNumber.objects.get(pk=number.pk).status == "held"


def test_a_listener_that_refuses_rolls_the_cancellation_back(account, user, billing):
    billing.refuse, billing.ends_on = True, None
    with pytest.raises(ApplicationError, match="cannot end now"):
        item_cancel(account=account, item=as_item(user), actor=ACTOR)
    user.refresh_from_db()
    assert (user.status, user.cancels_on) == ("active", None)
    assert cancelled_events() == []


def test_the_page_confirms_with_the_end_date_then_cancels(web, account, user, assigned, billing):
    page = web.get("/billing/users-numbers/").content.decode()
    assert f'href="/billing/users-numbers/users/{user.pk}/cancel/"' in page
    confirm = web.get(f"/billing/users-numbers/users/{user.pk}/cancel/").content.decode()
    assert "Ada (extension 201)" in confirm
    assert "ends on <strong><time" in confirm and "31 Jan 2027</time>" in confirm
    assert "the end of the period already billed" in confirm
    done = web.post(f"/billing/users-numbers/users/{user.pk}/cancel/", follow=True)
    shown = done.content.decode()
    assert "Ada (extension 201) is cancelled: its service ends on 31 Jan 2027." in shown
    assert "Cancelled: ends on 31 Jan 2027" in shown
    assert f"/users/{user.pk}/cancel/" not in shown  # no second Cancel
    again = web.post(f"/billing/users-numbers/users/{user.pk}/cancel/", follow=True)
    assert "is cancelled already" in again.content.decode()
    billing.ends_on = None
    web.post(f"/billing/users-numbers/numbers/{assigned.pk}/cancel/")
    assert PhoneNumber.objects.get(pk=assigned.pk).status == "available"


def test_the_page_refuses_another_accounts_item(web, other_account, payg_plan):
    theirs = phone_user_create(
        account=other_account,
        name="Not Mine",
        email="n@globex.example",
        extension="300",
        plan=payg_plan,
        actor=ACTOR,
    )
    assert web.get(f"/billing/users-numbers/users/{theirs.pk}/cancel/").status_code == 404
    assert web.post(f"/billing/users-numbers/users/{theirs.pk}/cancel/").status_code == 404


def test_the_api_previews_and_cancels(api, other_api, account, user, assigned, billing):
    preview = api.get(f"/api/v1/phone-users/{user.pk}/cancellation")
    assert preview.json() == {
        "kind": "phone_user",
        "id": user.pk,
        "name": "Ada (extension 201)",
        "ends_on": "2027-01-31",
        "at_once": False,
    }
    assert other_api.delete(f"/api/v1/phone-users/{user.pk}").status_code == 404
    done = api.delete(f"/api/v1/phone-users/{user.pk}")
    assert done.status_code == 200 and done.json()["ends_on"] == "2027-01-31"
    shown = api.get(f"/api/v1/phone-users/{user.pk}").json()
    assert (shown["status"], shown["cancels_on"]) == ("active", "2027-01-31")
    again = api.delete(f"/api/v1/phone-users/{user.pk}")
    assert again.status_code == 409 and again.json()["type"].endswith("/not-cancellable")
    billing.ends_on = None
    gone = api.delete(f"/api/v1/phone-numbers/{assigned.pk}")
    assert gone.json()["at_once"] is True
    assert api.get("/api/v1/phone-numbers").json()["items"] == []
    assert api.delete(f"/api/v1/phone-numbers/{assigned.pk}").status_code == 404


def test_an_id_no_row_can_have_is_a_404_not_a_500(api):
    """Beyond 64 bits SQLite cannot compare the id at all (schemathesis found it)."""
    for path in ("/api/v1/phone-users/", "/api/v1/phone-numbers/"):
        for huge in (2**63, 162379737200141688373248):
            response = api.delete(f"{path}{huge}")
            assert response.status_code == 404, (path, huge, response.content)
