"""What apps above telephony are asked and told when a customer cancels a user or a number.

Telephony cannot import invoicing (a peer) or billing (above it), yet a cancelled item's
subscription must end, and the customer must be told when its service ends (the end of the
period already billed). So, as with `accounts.money_checks`, the apps that know register a
listener from their AppConfig.ready():

    cancellation_register(CancellationListener(
        name="billing",
        service_ends_on=subscription_service_ends_on,   # (*, account, item, today) -> date | None
        cancelled=subscription_end,                     # (*, account, item, ends_on, at) -> None
    ))

`service_ends_on` is asked before (for the confirm page, and again by the cancellation
itself): the last day of service it would give the item, or None when it has nothing to say.
The answer is the latest of the listeners' and today's (in the account's time zone).
`cancelled` is told inside the cancellation's transaction, after the item is marked: an
ApplicationError it raises refuses the cancellation and nothing is changed.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from billtone.accounts.models import Account

PHONE_USER = "phone_user"
PHONE_NUMBER = "phone_number"


@dataclass(frozen=True)
class CancelledItem:
    """A phone user or number, by kind (`phone_user` or `phone_number`, as invoicing's
    Subscription.item_kind says) and id."""

    kind: str
    id: int


@dataclass(frozen=True)
class CancellationListener:
    name: str
    service_ends_on: Callable[..., date | None]
    cancelled: Callable[..., None]


_listeners: dict[str, CancellationListener] = {}


def cancellation_register(listener: CancellationListener) -> CancellationListener:
    """Ask and tell `listener` about every cancellation; registering a name again replaces
    the listener of that name (a test may swap it)."""
    _listeners[listener.name] = listener
    return listener


def cancellation_unregister(name: str) -> None:
    _listeners.pop(name, None)


def registered() -> tuple[CancellationListener, ...]:
    return tuple(_listeners.values())


def service_ends_on(*, account: Account, item: CancelledItem, today: date) -> date:
    """The last day of the item's service if it were cancelled today: the latest date the
    listeners give, never before today."""
    answers = [
        listener.service_ends_on(account=account, item=item, today=today)
        for listener in registered()
    ]
    return max([today, *(answer for answer in answers if answer is not None)])


def cancelled_tell(*, account: Account, item: CancelledItem, ends_on: date, at: datetime) -> None:
    """Tell every listener, inside the caller's transaction, that the item was cancelled."""
    for listener in registered():
        listener.cancelled(account=account, item=item, ends_on=ends_on, at=at)


# Plan changes: the same pattern. Billing answers "from when?" under the operator's
# plan-change policy and moves the user's subscription to the new plan:
#
#     plan_change_register(PlanChangeListener(
#         name="billing",
#         takes_effect=plan_takes_effect,  # (*, account, user_id, plan, today) -> PlanEffect
#         changed=subscription_plan_move,  # (*, account, user_id, plan, starts_on, at) -> None
#     ))
#
# `takes_effect` is asked before (the confirm page, and the change itself): the first day on
# the new plan, with a line the customer is shown ("the unused days of National are
# credited"), or None. The answer is the latest listener's date, never before today.
# `changed` is told inside the change's transaction; an ApplicationError refuses it.


@dataclass(frozen=True)
class PlanEffect:
    """When a plan change takes effect (the first day on the new plan, in the account's
    time zone) and what else the customer should know about it ("" when nothing)."""

    starts_on: date
    note: str = ""


@dataclass(frozen=True)
class PlanChangeListener:
    name: str
    takes_effect: Callable[..., PlanEffect | None]
    changed: Callable[..., None]


_plan_listeners: dict[str, PlanChangeListener] = {}


def plan_change_register(listener: PlanChangeListener) -> PlanChangeListener:
    """Ask and tell `listener` about every plan change; a name registered again replaces it."""
    _plan_listeners[listener.name] = listener
    return listener


def plan_change_unregister(name: str) -> None:
    _plan_listeners.pop(name, None)


def plan_change_registered() -> tuple[PlanChangeListener, ...]:
    return tuple(_plan_listeners.values())


def plan_takes_effect(*, account: Account, user_id: int, plan, today: date) -> PlanEffect:
    """When the user would move to `plan` if asked today: the latest date the listeners give
    (with their notes), never before today."""
    answers = [
        listener.takes_effect(account=account, user_id=user_id, plan=plan, today=today)
        for listener in plan_change_registered()
    ]
    answers = [answer for answer in answers if answer is not None]
    starts_on = max([today, *(answer.starts_on for answer in answers)])
    note = " ".join(answer.note for answer in answers if answer.note)
    return PlanEffect(starts_on=starts_on, note=note)


def plan_changed_tell(
    *, account: Account, user_id: int, plan, starts_on: date, at: datetime
) -> None:
    """Tell every listener, inside the caller's transaction, that the user's plan changes
    to `plan` from `starts_on`."""
    for listener in plan_change_registered():
        listener.changed(account=account, user_id=user_id, plan=plan, starts_on=starts_on, at=at)
