"""The PBX's events: payload and key, built without the database."""

from datetime import UTC, datetime

from billtone.catalog.models import Product
from billtone.telephony.events import ITEMS_ALLOCATED, ITEMS_CANCELLED, KEY_MAX, items_event
from billtone.telephony.models import PhoneNumber, PhoneUser

AT = datetime(2026, 12, 5, 10, 30, tzinfo=UTC)


def user(pk: int) -> PhoneUser:
    plan = Product(code="national", kind="plan")
    return PhoneUser(
        pk=pk, name=f"User {pk}", email=f"u{pk}@acme.example", extension=f"2{pk:02d}", plan=plan
    )


def test_the_payload_is_what_the_pbx_is_promised():
    event = items_event(
        event_type=ITEMS_ALLOCATED,
        account_id=7,
        at=AT,
        users=[user(2), user(1)],
        numbers=[PhoneNumber(pk=5, e164="+31201234567")],
    )
    assert event.event_type == "items.allocated"
    assert event.payload == {
        "account_id": 7,
        "users": [
            {
                "id": 1,
                "name": "User 1",
                "email": "u1@acme.example",
                "extension": "201",
                "plan": "national",
            },
            {
                "id": 2,
                "name": "User 2",
                "email": "u2@acme.example",
                "extension": "202",
                "plan": "national",
            },
        ],
        "numbers": [{"id": 5, "e164": "+31201234567"}],
    }
    assert event.key == "items.allocated:7:2026-12-05T10:30:00+00:00:u1,u2,n5"


def test_the_same_change_has_the_same_key_and_another_a_new_one():
    def key(**kwargs):
        defaults = {"event_type": ITEMS_CANCELLED, "account_id": 7, "at": AT}
        return items_event(**{**defaults, **kwargs}).key

    number = PhoneNumber(pk=5, e164="+31201234567")
    assert key(numbers=[number]) == key(numbers=[number])
    assert key(numbers=[number]) != key(numbers=[number], account_id=8)
    assert key(numbers=[number]) != key(numbers=[number], at=AT.replace(minute=31))


def test_a_long_list_of_items_keeps_the_key_short():
    users = [user(pk) for pk in range(1, 80)]
    event = items_event(event_type=ITEMS_ALLOCATED, account_id=7, at=AT, users=users)
    assert len(event.key) <= KEY_MAX
    assert len(event.payload["users"]) == 79
