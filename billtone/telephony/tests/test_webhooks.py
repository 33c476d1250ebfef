"""The PBX is told: items.allocated and items.cancelled stored as webhook deliveries in the
transaction that made the change (sent after it commits), none for a change refused."""

import pytest
from django.db import transaction

from billtone.core import clock
from billtone.notifications.models import WebhookDelivery
from billtone.notifications.services import WebhookEndpointInput, webhook_endpoint_save
from billtone.telephony.errors import HoldLapsed
from billtone.telephony.services import (
    items_activate,
    number_cancel,
    number_hold,
    number_release,
    phone_user_cancel,
    phone_user_create,
    phone_user_discard,
)

from .conftest import ACTOR


@pytest.fixture(autouse=True)
def pbx(db):
    return webhook_endpoint_save(
        data=WebhookEndpointInput(url="https://pbx.example/hooks", event_types=[]), actor=ACTOR
    )


def user_on(account, plan, extension="201"):
    return phone_user_create(
        account=account,
        name="Ada",
        email="ada@acme.example",
        extension=extension,
        plan=plan,
        actor=ACTOR,
    )


def events():
    return [(d.event_type, d.payload) for d in WebhookDelivery.objects.order_by("pk")]


def test_a_pay_as_you_go_user_is_announced_at_once(account, payg_plan):
    user = user_on(account, payg_plan)
    assert events() == [
        (
            "items.allocated",
            {
                "account_id": account.pk,
                "users": [
                    {
                        "id": user.pk,
                        "name": "Ada",
                        "email": "ada@acme.example",
                        "extension": "201",
                        "plan": "pay-as-you-go",
                    }
                ],
                "numbers": [],
            },
        )
    ]


def test_checkout_announces_its_users_and_numbers_in_one_event(account, national_plan, number):
    user = user_on(account, national_plan)
    number_hold(account=account, number_id=number.pk)
    assert events() == []
    with transaction.atomic():
        items_activate(account=account, user_ids=[user.pk], number_ids=[number.pk], at=clock.now())
    ((event_type, payload),) = events()
    assert event_type == "items.allocated"
    assert [u["id"] for u in payload["users"]] == [user.pk]
    assert payload["numbers"] == [{"id": number.pk, "e164": "+31201234567"}]


def test_a_refused_checkout_announces_nothing(account, national_plan, number):
    user = user_on(account, national_plan)
    number_hold(account=account, number_id=number.pk)
    number_release(account=account, number_id=number.pk)
    with pytest.raises(HoldLapsed), transaction.atomic():
        items_activate(account=account, user_ids=[user.pk], number_ids=[number.pk], at=clock.now())
    assert events() == []


def test_cancelling_what_was_active_is_announced_and_a_basket_discard_is_not(
    account, payg_plan, national_plan, number
):
    active = user_on(account, payg_plan, extension="201")
    pending = user_on(account, national_plan, extension="202")
    number_hold(account=account, number_id=number.pk)
    with transaction.atomic():
        items_activate(account=account, user_ids=[], number_ids=[number.pk], at=clock.now())
    WebhookDelivery.objects.all().delete()

    phone_user_discard(account=account, user_id=pending.pk)
    assert events() == []
    phone_user_cancel(account=account, user_id=active.pk, actor=ACTOR)
    number_cancel(account=account, number_id=number.pk, actor=ACTOR)
    assert [(t, [u["id"] for u in p["users"]], p["numbers"]) for t, p in events()] == [
        ("items.cancelled", [active.pk], []),
        ("items.cancelled", [], [{"id": number.pk, "e164": "+31201234567"}]),
    ]
