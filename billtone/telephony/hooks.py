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
