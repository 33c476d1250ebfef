"""A customer's change of a phone user's plan, as the pages, the API and the service see it:
which plans the user may move to, and from when. Only paid-to-paid: a Pay As You Go user
(free) is added again on a paid plan instead, since a paid plan is paid for at checkout."""

from dataclasses import dataclass
from datetime import date

from billtone.accounts.models import Account
from billtone.accounts.selectors import billing_profile_as_loaded
from billtone.catalog.models import Product
from billtone.catalog.selectors import Offer, products_offered
from billtone.core.errors import ValidationFailed
from billtone.telephony import hooks
from billtone.telephony.errors import PlanNotChangeable
from billtone.telephony.models import PhoneUser, PhoneUserStatus
from billtone.telephony.selectors import account_today

PAYG_HINT = "Pay As You Go users: add a new user on a paid plan."


@dataclass(frozen=True)
class PlanChange:
    """What moving the user to `plan` does: from `starts_on` (the account's date) on;
    `at_once` when that is today; `note` what else the customer is told (billing's)."""

    user: PhoneUser
    old_plan: Product
    plan: Product
    offer: Offer
    starts_on: date
    at_once: bool
    note: str


def paid_plans(*, account: Account) -> list[Offer]:
    """The plans offered in the account's currency with a monthly price, cheapest first."""
    currency = billing_profile_as_loaded(account=account).currency
    offers = products_offered(currency=currency, kind=Product.Kind.PLAN)
    return sorted(
        (offer for offer in offers if offer.price.amount > 0),
        key=lambda offer: (offer.price.amount, offer.product.name),
    )


def plan_changeable_check(*, account: Account, user: PhoneUser) -> None:
    """PlanNotChangeable (409) unless the user is active, not cancelled, with no change
    scheduled, on a plan with a monthly price in the account's currency."""
    if user.status != PhoneUserStatus.ACTIVE:
        raise PlanNotChangeable(
            f"{user} is {user.get_status_display().lower()}: only an active user's plan "
            "can be changed."
        )
    if user.cancels_on is not None:
        raise PlanNotChangeable(
            f"{user} is cancelled: its service ends on {user.cancels_on:%-d %b %Y}."
        )
    if user.plan_changes_on is not None:
        raise PlanNotChangeable(
            f"{user} moves to {user.next_plan.name} on {user.plan_changes_on:%-d %b %Y} already."
        )
    if user.plan_id not in {offer.product.pk for offer in paid_plans(account=account)}:
        raise PlanNotChangeable(f"{user} is on {user.plan.name}. {PAYG_HINT}")


def plan_change_preview(*, account: Account, user: PhoneUser, plan_id: int) -> PlanChange:
    """What moving the account's user to the plan `plan_id` would do now: refused as the
    change would be (PlanNotChangeable; ValidationFailed for a plan not offered with a
    monthly price, or the user's own); from the latest day the listeners give (billing:
    the next period, or today with the unused days credited), today if none says later."""
    plan_changeable_check(account=account, user=user)
    offer = next((o for o in paid_plans(account=account) if o.product.pk == plan_id), None)
    if offer is None:
        raise ValidationFailed(
            {"plan": ["Choose one of the paid plans offered."]}, detail="This plan is not offered."
        )
    if offer.product.pk == user.plan_id:
        raise ValidationFailed(
            {"plan": [f"{user} is on {offer.product.name} already."]},
            detail="This is the user's plan already.",
        )
    today = account_today(account=account)
    effect = hooks.plan_takes_effect(
        account=account, user_id=user.pk, plan=offer.product, today=today
    )
    return PlanChange(
        user=user,
        old_plan=user.plan,
        plan=offer.product,
        offer=offer,
        starts_on=effect.starts_on,
        at_once=effect.starts_on <= today,
        note=effect.note,
    )
