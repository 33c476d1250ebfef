"""Billing's answer to telephony's plan changes (telephony/hooks.py): under the operator's
plan-change policy a user moves to the new plan from the next period (the day after the
period already billed) or today, the unused days of the old plan credited; the user's
subscription moves with the change, in its transaction (invoicing.subscription_plan_change),
at the new plan's monthly price in the account's currency."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from billtone.accounts.models import Account
from billtone.accounts.selectors import billing_profile_as_loaded
from billtone.catalog.models import OperatorProfile, Product
from billtone.catalog.selectors import offer_get, operator_profile_get
from billtone.core.services import Actor
from billtone.invoicing.models import Subscription
from billtone.invoicing.services import subscription_plan_change
from billtone.telephony.hooks import PHONE_USER, PlanChangeListener, PlanEffect
from billtone.telephony.selectors import account_today, phone_user_get

PLAN_CHANGER = Actor.system("plan-change")


def _active(account: Account, user_id: int) -> Subscription | None:
    return (
        Subscription.objects.filter(
            account=account,
            item_kind=PHONE_USER,
            item_id=user_id,
            status=Subscription.Status.ACTIVE,
        )
        .select_related("product")
        .first()
    )


def plan_takes_effect(*, account: Account, user_id: int, plan: Product, today: date):
    """`next_period`: the day after the period already billed; `immediate`: today, the
    unused days credited. None when the user has no subscription (nothing to bill)."""
    subscription = _active(account, user_id)
    if subscription is None:
        return None
    if operator_profile_get().plan_change_policy == OperatorProfile.PlanChangePolicy.IMMEDIATE:
        paid = subscription.paid_through is not None and subscription.paid_through >= today
        note = f"The unused days of {subscription.product.name} are credited." if paid else ""
        return PlanEffect(starts_on=today, note=note)
    last = subscription.paid_through or subscription.started_on
    return PlanEffect(starts_on=last + timedelta(days=1))


def subscription_plan_move(
    *, account: Account, user_id: int, plan: Product, starts_on: date, at: datetime
) -> None:
    """Move the user's subscription to `plan` at its price in the account's currency, in
    the plan change's transaction (an error refuses the change)."""
    subscription = _active(account, user_id)
    if subscription is None:
        return
    user = phone_user_get(account=account, user_id=user_id)
    currency = billing_profile_as_loaded(account=account).currency
    subscription_plan_change(
        subscription_id=subscription.pk,
        product=plan,
        description=f"{plan.name} plan: {user.name} (extension {user.extension})",
        unit_price=offer_get(product_id=plan.pk, currency=currency).price,
        actor=PLAN_CHANGER,
        today=account_today(account=account, at=at),
    )


LISTENER = PlanChangeListener(
    name="billing", takes_effect=plan_takes_effect, changed=subscription_plan_move
)
