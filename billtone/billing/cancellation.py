"""Billing's answer to telephony's cancellations (telephony/hooks.py): a cancelled user's or
number's service ends when its subscription's billed period ends (cancel policy
`end_of_period`), or today with a credit note for the unused days (`immediate_credit`); the
subscription ends with the cancellation, in its transaction (invoicing.subscription_end)."""

from __future__ import annotations

from datetime import date, datetime

from billtone.accounts.models import Account
from billtone.catalog.models import OperatorProfile
from billtone.catalog.selectors import operator_profile_get
from billtone.core.services import Actor
from billtone.invoicing.models import Subscription
from billtone.invoicing.services import subscription_end
from billtone.telephony.hooks import CancellationListener, CancelledItem
from billtone.telephony.selectors import account_today

CANCELLER = Actor.system("cancellation")


def _active(account: Account, item: CancelledItem) -> Subscription | None:
    return Subscription.objects.filter(
        account=account, item_kind=item.kind, item_id=item.id, status=Subscription.Status.ACTIVE
    ).first()


def subscription_service_ends_on(*, account: Account, item: CancelledItem, today: date):
    """The last day of service the item's subscription gives: its paid_through under
    `end_of_period`; nothing to add (today) under `immediate_credit` or when unbilled."""
    subscription = _active(account, item)
    if subscription is None:
        return None
    if operator_profile_get().cancel_policy == OperatorProfile.CancelPolicy.IMMEDIATE_CREDIT:
        return None
    return subscription.paid_through


def subscription_cancelled(
    *, account: Account, item: CancelledItem, ends_on: date, at: datetime
) -> None:
    """End the item's subscription under the cancel policy, in the cancellation's
    transaction (an error refuses the cancellation)."""
    subscription = _active(account, item)
    if subscription is None:
        return
    subscription_end(
        subscription_id=subscription.pk,
        actor=CANCELLER,
        today=account_today(account=account, at=at),
    )


LISTENER = CancellationListener(
    name="billing",
    service_ends_on=subscription_service_ends_on,
    cancelled=subscription_cancelled,
)
