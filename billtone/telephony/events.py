"""What the PBX is told when users and numbers start and stop (`items.allocated`,
`items.cancelled`) and when an account's service is suspended and reactivated
(`account.suspended`, `account.reactivated`) and when a user's plan changes
(`users.plan_changed`, the day it takes effect): the payload and its key, built here, and
queued as webhook deliveries (notifications) in the transaction that made the change, so
that they are sent after it commits and never for a change that rolled back."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256

from billtone.telephony.models import PhoneNumber, PhoneUser

ITEMS_ALLOCATED = "items.allocated"
ITEMS_CANCELLED = "items.cancelled"
ACCOUNT_SUSPENDED = "account.suspended"
ACCOUNT_REACTIVATED = "account.reactivated"
USERS_PLAN_CHANGED = "users.plan_changed"
KEY_MAX = 200


@dataclass(frozen=True)
class ItemsEvent:
    event_type: str
    key: str  # the same change, the same key: a retry queues nothing twice
    payload: dict


def user_item(user: PhoneUser) -> dict:
    return {
        "id": user.pk,
        "name": user.name,
        "email": user.email,
        "extension": user.extension,
        "plan": user.plan.code,
    }


def number_item(number: PhoneNumber) -> dict:
    return {"id": number.pk, "e164": number.e164}


def items_event(
    *,
    event_type: str,
    account_id: int,
    at: datetime,
    users: Sequence[PhoneUser] = (),
    numbers: Sequence[PhoneNumber] = (),
) -> ItemsEvent:
    """The event for these users and numbers of one account, changed at `at`. The key names
    the account, the moment and the items: a number cancelled and later given to another
    account is a new event each time."""
    users = sorted(users, key=lambda user: user.pk)
    numbers = sorted(numbers, key=lambda number: number.pk)
    items = ",".join([*(f"u{user.pk}" for user in users), *(f"n{number.pk}" for number in numbers)])
    key = f"{event_type}:{account_id}:{at.isoformat()}:{items}"
    if len(key) > KEY_MAX:
        key = f"{event_type}:{account_id}:{at.isoformat()}:{sha256(items.encode()).hexdigest()}"
    payload = {
        "account_id": account_id,
        "users": [user_item(user) for user in users],
        "numbers": [number_item(number) for number in numbers],
    }
    return ItemsEvent(event_type=event_type, key=key, payload=payload)


def account_event(
    *,
    event_type: str,
    account_id: int,
    at: datetime,
    reason: str = "",
    users: Sequence[PhoneUser] = (),
    numbers: Sequence[PhoneNumber] = (),
) -> ItemsEvent:
    """An account suspended or reactivated at `at`, with the users (extension) and numbers
    (E.164) that changed with it. One key per account and moment: a retry queues nothing
    twice, a later suspension is a new event."""
    users = sorted(users, key=lambda user: user.pk)
    numbers = sorted(numbers, key=lambda number: number.pk)
    payload: dict = {"account_id": account_id}
    if event_type == ACCOUNT_SUSPENDED:
        payload["reason"] = reason
    payload["users"] = [{"id": user.pk, "extension": user.extension} for user in users]
    payload["numbers"] = [number_item(number) for number in numbers]
    key = f"{event_type}:{account_id}:{at.isoformat()}"
    return ItemsEvent(event_type=event_type, key=key, payload=payload)


def plan_changed_event(*, user: PhoneUser, previous_plan: str, at: datetime) -> ItemsEvent:
    """The user (with its new plan) moved from the plan coded `previous_plan` at `at`. One
    key per user, plan and moment: a retry queues nothing twice."""
    key = f"{USERS_PLAN_CHANGED}:{user.account_id}:u{user.pk}:{user.plan.code}:{at.isoformat()}"
    payload = {
        "account_id": user.account_id,
        "users": [user_item(user)],
        "previous_plan": previous_plan,
    }
    return ItemsEvent(event_type=USERS_PLAN_CHANGED, key=key[:KEY_MAX], payload=payload)
