"""A customer moves an active user to another paid plan: asked of, and told to, a registered
listener (a fake here: billing registers the real one, tested in billing), at once or from
the next period, applied on its day with a frozen clock; refused for a plan not offered, the
same plan, Pay As You Go, a user not active, another account's user. Through the service,
the task, the page and the API."""

from datetime import date, datetime

import pytest

from billtone.core import clock
from billtone.core.errors import ApplicationError, NotFound, ValidationFailed
from billtone.notifications.models import WebhookDelivery
from billtone.telephony import hooks
from billtone.telephony.errors import NotCancellable, PlanNotChangeable
from billtone.telephony.models import PhoneUser
from billtone.telephony.plan_change import paid_plans, plan_change_preview
from billtone.telephony.selectors import cancellation_preview
from billtone.telephony.services import phone_user_create, phone_user_plan_change
from billtone.telephony.tasks import cancellations_finish as finish_task

from .conftest import ACTOR, BERLIN, product_with_prices

pytestmark = pytest.mark.usefixtures("frozen", "pbx_endpoint")
NEXT_PERIOD = date(2027, 2, 1)


class FakeBilling:
    """What billing will register: from the next period (or `starts_on`); records what it
    was told."""

    def __init__(self):
        self.starts_on: date | None = NEXT_PERIOD
        self.told: list[tuple] = []
        self.refuse = False

    def takes_effect(self, *, account, user_id, plan, today):
        if self.starts_on is None:
            return None
        return hooks.PlanEffect(starts_on=self.starts_on, note="Billed from then.")

    def changed(self, *, account, user_id, plan, starts_on, at):
        if self.refuse:
            raise ApplicationError(detail="The subscription cannot move now.", status=409)
        self.told.append((account.pk, user_id, plan.code, starts_on))


@pytest.fixture
def billing():
    fake = FakeBilling()
    hooks.plan_change_register(
        hooks.PlanChangeListener(
            name="test-billing", takes_effect=fake.takes_effect, changed=fake.changed
        )
    )
    yield fake
    hooks.plan_change_unregister("test-billing")


@pytest.fixture
def international(db):
    return product_with_prices(
        code="international", kind="plan", prices={"EUR": "25.00"}, included_minutes=500
    )


def _user(account, plan, extension="201", name="Ada"):
    user = phone_user_create(
        account=account,
        name=name,
        email="ada@acme.example",
        extension=extension,
        plan=plan,
        actor=ACTOR,
    )
    if user.status != "active":
        PhoneUser.objects.filter(pk=user.pk).update(status="active", activated_at=clock.now())
        user.refresh_from_db()
    return user


@pytest.fixture
def user(account, national_plan):
    return _user(account, national_plan)


def plan_events():
    return list(
        WebhookDelivery.objects.filter(event_type="users.plan_changed")
        .order_by("pk")
        .values_list("payload", flat=True)
    )


def test_only_paid_plans_in_the_accounts_currency_are_offered(
    account, other_account, payg_plan, national_plan, international
):
    assert [o.product.code for o in paid_plans(account=account)] == ["national", "international"]
    assert [o.product.code for o in paid_plans(account=other_account)] == ["national"]


def test_without_a_listener_it_changes_today(account, user, international):
    change = phone_user_plan_change(
        account=account, user_id=user.pk, plan_id=international.pk, actor=ACTOR
    )
    assert (change.starts_on, change.at_once) == (date(2027, 1, 12), True)
    user.refresh_from_db()
    assert (user.plan, user.next_plan, user.plan_changes_on) == (international, None, None)
    [event] = plan_events()
    assert event["previous_plan"] == "national"
    assert event["users"][0]["plan"] == "international"


def test_from_the_next_period_it_is_scheduled_and_applied_on_that_day(
    account, user, international, billing, frozen
):
    preview = plan_change_preview(account=account, user=user, plan_id=international.pk)
    assert (preview.starts_on, preview.at_once, preview.note) == (
        NEXT_PERIOD,
        False,
        "Billed from then.",
    )
    phone_user_plan_change(account=account, user_id=user.pk, plan_id=international.pk, actor=ACTOR)
    assert billing.told == [(account.pk, user.pk, "international", NEXT_PERIOD)]
    user.refresh_from_db()
    assert (user.plan.code, user.next_plan, user.plan_changes_on) == (
        "national",
        international,
        NEXT_PERIOD,
    )
    assert plan_events() == []
    with pytest.raises(PlanNotChangeable, match="moves to International on 1 Feb 2027"):
        phone_user_plan_change(
            account=account, user_id=user.pk, plan_id=international.pk, actor=ACTOR
        )
    with pytest.raises(NotCancellable, match="cancel it from that day"):
        cancellation_preview(account=account, item=user)
    # 31 Jan, 23:59 in Berlin: still National
    frozen.move_to(datetime(2027, 1, 31, 23, 59, tzinfo=BERLIN))
    finish_task.delay()
    assert PhoneUser.objects.get(pk=user.pk).plan.code == "national"
    # 1 Feb, 00:00 in Berlin: International
    frozen.move_to(datetime(2027, 2, 1, 0, 0, tzinfo=BERLIN))
    finish_task.delay()
    finish_task.delay()  # a second run changes nothing
    user.refresh_from_db()
    assert (user.plan, user.next_plan, user.plan_changes_on) == (international, None, None)
    assert [e["previous_plan"] for e in plan_events()] == ["national"]
    assert len(billing.told) == 1  # told when asked, not again


def test_refusals_change_nothing(
    account, other_account, user, payg_plan, national_plan, international, billing
):
    def change(plan, whose=account, user_id=user.pk):
        return phone_user_plan_change(account=whose, user_id=user_id, plan_id=plan.pk, actor=ACTOR)

    with pytest.raises(NotFound):
        change(international, whose=other_account)
    with pytest.raises(ValidationFailed, match="not offered"):
        change(payg_plan)
    with pytest.raises(ValidationFailed, match="plan already"):
        change(national_plan)
    gbp_only = product_with_prices(code="gbp-only", kind="plan", prices={"GBP": "9.00"})
    with pytest.raises(ValidationFailed, match="not offered"):
        change(gbp_only)
    payg_user = _user(account, payg_plan, extension="202", name="Bo")
    with pytest.raises(PlanNotChangeable, match="add a new user on a paid plan"):
        change(international, user_id=payg_user.pk)
    PhoneUser.objects.filter(pk=user.pk).update(status="suspended")
    with pytest.raises(PlanNotChangeable, match="only an active user"):
        change(international)
    PhoneUser.objects.filter(pk=user.pk).update(status="active", cancels_on=date(2027, 1, 31))
    with pytest.raises(PlanNotChangeable, match="is cancelled"):
        change(international)
    PhoneUser.objects.filter(pk=user.pk).update(cancels_on=None)
    billing.refuse = True
    with pytest.raises(ApplicationError, match="cannot move now"):
        change(international)
    user.refresh_from_db()
    assert (user.plan.code, user.plan_changes_on) == ("national", None)
    assert billing.told == [] and plan_events() == []


def test_the_api_changes_a_plan(api, other_api, account, user, international, billing):
    url = f"/api/v1/phone-users/{user.pk}/plan"
    assert other_api.post(url, {"product_id": international.pk}).status_code == 404
    same = api.post(url, {"product_id": user.plan_id})
    assert same.status_code == 422 and same.json()["errors"]["plan"]
    done = api.post(url, {"product_id": international.pk})
    assert done.status_code == 200
    assert done.json() == {
        "user_id": user.pk,
        "name": "Ada (extension 201)",
        "previous_plan": "national",
        "plan": "international",
        "plan_name": "International",
        "starts_on": "2027-02-01",
        "at_once": False,
        "note": "Billed from then.",
    }
    shown = api.get(f"/api/v1/phone-users/{user.pk}").json()
    assert (shown["plan"], shown["next_plan"], shown["plan_changes_on"]) == (
        "national",
        "international",
        "2027-02-01",
    )
    again = api.post(url, {"product_id": international.pk})
    assert again.status_code == 409 and again.json()["type"].endswith("/plan-not-changeable")


def test_the_pages_list_the_plans_confirm_the_date_then_change(
    web, account, user, payg_plan, international, billing
):
    page = web.get("/billing/users-numbers/").content.decode()
    url = f"/billing/users-numbers/users/{user.pk}/plan/"
    assert f'href="{url}"' in page
    choose = web.get(url).content.decode()
    assert "International" in choose and "25.00" in choose and "a month" in choose
    assert "Pay As You Go users: add a new user on a paid plan." in choose
    assert f'value="{payg_plan.pk}"' not in choose and f'value="{user.plan_id}"' not in choose
    confirm = web.get(url, {"plan": international.pk}).content.decode()
    assert "from <time" in confirm and "1 Feb 2027</time>" in confirm
    done = web.post(url, {"plan": international.pk}, follow=True).content.decode()
    assert "Ada (extension 201) moves to the International plan on 1 Feb 2027." in done
    assert "Moves to International on 1 Feb 2027" in done
    assert f'href="{url}"' not in done  # no second change while one is scheduled
    again = web.post(url, {"plan": international.pk}, follow=True).content.decode()
    assert "moves to International on 1 Feb 2027 already" in again


def test_the_page_says_today_and_refuses_bad_input(
    web, other_account, account, user, national_plan, international, billing
):
    billing.starts_on = None
    url = f"/billing/users-numbers/users/{user.pk}/plan/"
    confirm = web.get(url, {"plan": international.pk}).content.decode()
    assert "It takes effect <strong>today</strong>" in confirm
    bad = web.get(url, {"plan": "x"}, follow=True).content.decode()
    assert "Choose one of the plans offered." in bad
    assert web.post(url, {"plan": national_plan.pk}).status_code == 302
    assert PhoneUser.objects.get(pk=user.pk).plan == national_plan
    theirs = _user(other_account, national_plan, extension="300", name="Not Mine")
    assert web.get(f"/billing/users-numbers/users/{theirs.pk}/plan/").status_code == 404
    assert web.post(f"/billing/users-numbers/users/{theirs.pk}/plan/").status_code == 404
