"""A customer's cancellation of a user or number, as the confirm page, the API and the service
see it: which items may be cancelled, and when the service ends. Pure: no database."""

from dataclasses import dataclass
from datetime import date

from billtone.telephony.errors import NotCancellable
from billtone.telephony.hooks import PHONE_NUMBER, PHONE_USER, CancelledItem
from billtone.telephony.models import PhoneNumber, PhoneNumberStatus, PhoneUser, PhoneUserStatus
from billtone.telephony.numbers import e164_display


@dataclass(frozen=True)
class Cancellation:
    """What cancelling the item does: its service ends on `ends_on` (the last day, in the
    account's time zone); `at_once` when that is today (cancelled there and then)."""

    item: CancelledItem
    name: str  # "Ada (extension 201)", "+31 20 123 4567"
    ends_on: date
    at_once: bool


def item_name(item: PhoneUser | PhoneNumber) -> str:
    return e164_display(item.e164) if isinstance(item, PhoneNumber) else str(item)


def cancellable_check(item: PhoneUser | PhoneNumber) -> None:
    """NotCancellable (409) unless the item is in service (active or suspended) and not
    cancelled already; the message says what to do instead."""
    name = item_name(item)
    if item.cancels_on is not None:
        raise NotCancellable(
            f"{name} is cancelled already: its service ends on {item.cancels_on:%-d %b %Y}."
        )
    if getattr(item, "plan_changes_on", None) is not None:
        # Its subscription was moved to the new plan from that day: cancel once it starts.
        raise NotCancellable(
            f"{name} moves to {item.next_plan.name} on {item.plan_changes_on:%-d %b %Y}: "
            "cancel it from that day."
        )
    if item.status in (PhoneUserStatus.PENDING_PAYMENT, PhoneNumberStatus.HELD):
        raise NotCancellable(
            f"{name} is waiting for payment in your basket: take it out with the basket's bin "
            "instead."
        )
    if item.status == PhoneUserStatus.CANCELLED:
        raise NotCancellable(f"{name} is cancelled already.")


def item_of(item: PhoneUser | PhoneNumber) -> CancelledItem:
    kind = PHONE_NUMBER if isinstance(item, PhoneNumber) else PHONE_USER
    return CancelledItem(kind=kind, id=item.pk)
