"""Monthly items bought at checkout, for the bill runs of issue 18; ending them and changing
their plan under the operator's policies (docs/decisions/0020)."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import IntegrityError, transaction

from billtone.accounts.models import Account
from billtone.catalog.models import OperatorProfile, Product
from billtone.catalog.selectors import operator_profile_get
from billtone.core import clock
from billtone.core.errors import ApplicationError, NotFound, ValidationFailed
from billtone.core.money import Money
from billtone.core.rows import ModelColumns
from billtone.core.services import Actor, audit_record
from billtone.invoicing.errors import SubscriptionExists
from billtone.invoicing.models import Invoice, Subscription
from billtone.invoicing.services.unused_days import unused_days_credit

_SUBSCRIPTION_ROWS = ModelColumns(Subscription, "s")


def subscription_start(
    *,
    account: Account,
    product: Product,
    item_kind: str,
    item_id: int,
    description: str,
    unit_price: Money,
    started_on: date,
    paid_through: date,
    invoice: Invoice,
) -> Subscription:
    """Record a monthly item paid through `paid_through` by `invoice`, in the caller's
    transaction (checkout's). One active subscription per item: SubscriptionExists, and the
    caller's transaction must roll back."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("subscription_start runs inside the checkout's transaction.")
    errors: dict[str, list[str]] = {}
    if item_kind not in Subscription.ItemKind.values:
        errors["item_kind"] = [f"One of {', '.join(Subscription.ItemKind.values)}."]
    if paid_through < started_on:
        errors["paid_through"] = ["Paid through a day on or after the start."]
    if unit_price.amount < 0 or unit_price != unit_price.rounded():
        errors["unit_price"] = ["A price of zero or more, in whole minor units."]
    if unit_price.currency != invoice.currency or invoice.account_id != account.pk:
        errors["invoice"] = ["The invoice of this account, in the price's currency."]
    if errors:
        raise ValidationFailed(errors, detail="The subscription was refused.")
    try:  # no savepoint (2 statements of a checkout's ~50): a refusal rolls the caller back
        # Written once (core/rows.py): every monthly item bought starts one (decision 0021).
        return _SUBSCRIPTION_ROWS.insert(
            Subscription(
                account=account,
                product=product,
                item_kind=item_kind,
                item_id=item_id,
                description=description[:300],
                unit_price=unit_price.amount,
                currency=unit_price.currency,
                started_on=started_on,
                paid_through=paid_through,
                invoice=invoice,
                created_at=clock.now(),
            )
        )
    except IntegrityError:
        transaction.set_rollback(True)
        raise SubscriptionExists(f"{description} has an active subscription already.") from None


class PolicyNotSupported(ApplicationError):
    """The operator's policy is not supported by this action (yet)."""

    def __init__(self, detail: str):
        super().__init__(
            detail=detail, slug="policy-not-supported", title="Not possible yet", status=409
        )


def _locked(subscription_id: int) -> Subscription:
    subscription = Subscription.objects.select_for_update().filter(pk=subscription_id).first()
    if subscription is None:
        raise NotFound("No such subscription.")
    return subscription


def _last_day(subscription: Subscription) -> date:
    """The last day already billed; a subscription billed for nothing ends on its start."""
    return subscription.paid_through or subscription.started_on


@transaction.atomic
def subscription_end(
    *, subscription_id: int, actor: Actor, today: date | None = None
) -> Subscription:
    """End a subscription under the operator's cancel policy: `end_of_period` ends it at the
    end of the billed period (ends_on = paid_through; no further bills). `immediate_credit`
    ends it on `today` (the account's date; needed then) and credits the unused days
    billed after it to business funds (off what is still owed, for an open invoice), by one
    credit note per invoice that billed them. An ended one is returned as it is."""
    subscription = _locked(subscription_id)
    if subscription.status == Subscription.Status.ENDED:
        return subscription
    policy = operator_profile_get().cancel_policy
    ends_on = _last_day(subscription)
    if policy == OperatorProfile.CancelPolicy.IMMEDIATE_CREDIT:
        if today is None:
            raise ValueError("Ending a subscription at once needs the account's today.")
        ends_on = max(min(today, ends_on), subscription.started_on)
    elif policy != OperatorProfile.CancelPolicy.END_OF_PERIOD:
        raise PolicyNotSupported(f"The cancel policy {policy!r} is not supported.")
    subscription.status = Subscription.Status.ENDED
    subscription.ends_on = ends_on
    subscription.ended_at = clock.now()
    subscription.save(update_fields=["status", "ends_on", "ended_at"])
    audit_record(
        actor=actor,
        action="invoicing.subscription_end",
        obj=subscription,
        account_id=subscription.account_id,
        changes={"ends_on": [None, subscription.ends_on.isoformat()]},
    )
    if subscription.paid_through and ends_on < subscription.paid_through:
        unused_days_credit(subscription=subscription, after=ends_on, actor=actor)
    return subscription


@transaction.atomic
def subscription_plan_change(
    *,
    subscription_id: int,
    product: Product,
    description: str,
    unit_price: Money,
    actor: Actor,
    today: date | None = None,
) -> Subscription:
    """Move an item to another plan under the operator's plan-change policy: `next_period`
    ends the old subscription at its paid_through and starts the new one the day after,
    nothing billed (the next bill charges it). `immediate` (needs `today`, the account's
    date) starts the new one today, nothing billed (the next bill catches up the part
    month), and ends the old one the day before (its start, if that is today) with the days
    from today on that were billed credited by unused_days_credit: to business funds for a
    paid invoice, off what an open one owes. The day of the change is charged once, at the
    new plan. Returns the new subscription."""
    old = _locked(subscription_id)
    if old.status != Subscription.Status.ACTIVE:
        raise ValidationFailed({"subscription": ["The subscription has ended."]})
    if unit_price.currency != old.currency or unit_price.amount < 0:
        raise ValidationFailed({"unit_price": [f"A price of zero or more in {old.currency}."]})
    policy = operator_profile_get().plan_change_policy
    if policy == OperatorProfile.PlanChangePolicy.NEXT_PERIOD:
        last = _last_day(old)
        starts_on = last + timedelta(days=1)
    elif policy == OperatorProfile.PlanChangePolicy.IMMEDIATE:
        if today is None:
            raise ValueError("Changing a plan at once needs the account's today.")
        starts_on = max(today, old.started_on)
        # The constraint wants ends_on >= started_on: one changed on its first day "ends"
        # that day, and all of it is credited.
        last = max(starts_on - timedelta(days=1), old.started_on)
    else:
        raise PolicyNotSupported(f"The plan-change policy {policy!r} is not supported.")
    if old.paid_through is None and old.started_on >= starts_on:
        return _unbilled_replace(
            old, product=product, description=description, unit_price=unit_price, actor=actor
        )
    old.status = Subscription.Status.ENDED
    old.ends_on = last
    old.ended_at = clock.now()
    old.save(update_fields=["status", "ends_on", "ended_at"])
    if policy == OperatorProfile.PlanChangePolicy.IMMEDIATE and old.paid_through:
        credited_after = starts_on - timedelta(days=1)
        if credited_after < old.paid_through:
            unused_days_credit(
                subscription=old, after=credited_after, actor=actor, why="plan changed"
            )
    new = Subscription.objects.create(
        account_id=old.account_id,
        product=product,
        item_kind=old.item_kind,
        item_id=old.item_id,
        description=description[:300],
        unit_price=unit_price.rounded().amount,
        currency=old.currency,
        started_on=starts_on,
        paid_through=None,
        created_at=clock.now(),
    )
    audit_record(
        actor=actor,
        action="invoicing.subscription_plan_change",
        obj=new,
        account_id=old.account_id,
        changes={"product": [old.product_id, product.pk], "from_subscription": [old.pk, None]},
    )
    return new


def _unbilled_replace(
    subscription: Subscription,
    *,
    product: Product,
    description: str,
    unit_price: Money,
    actor: Actor,
) -> Subscription:
    """A subscription not billed yet that would start on the change's day or later (a
    second change the same day): ending it would leave a day billed at the old plan, so it
    is moved to the new plan in place."""
    before = subscription.product_id
    subscription.product = product
    subscription.description = description[:300]
    subscription.unit_price = unit_price.rounded().amount
    subscription.save(update_fields=["product", "description", "unit_price"])
    audit_record(
        actor=actor,
        action="invoicing.subscription_plan_change",
        obj=subscription,
        account_id=subscription.account_id,
        changes={"product": [before, product.pk]},
    )
    return subscription
