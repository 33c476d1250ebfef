"""Monthly items bought at checkout, for the bill runs of issue 18."""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction

from billtone.accounts.models import Account
from billtone.catalog.models import Product
from billtone.core import clock
from billtone.core.errors import ValidationFailed
from billtone.core.money import Money
from billtone.invoicing.errors import SubscriptionExists
from billtone.invoicing.models import Invoice, Subscription


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
    transaction (checkout's). One active subscription per item (SubscriptionExists)."""
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
    try:
        with transaction.atomic():
            return Subscription.objects.create(
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
    except IntegrityError:
        raise SubscriptionExists(f"{description} has an active subscription already.") from None
