"""The demo customer's shopping (issue 17), through the basket's own services: a checkout paid
with business funds (users on the National and International plans, a Berlin number,
call credit), so that an invoice with its PDF, subscriptions (a real Next Bill),
active users and an assigned number exist; and a basket in progress (a user on the
International plan, awaiting payment) so that the header's badge shows a value. Safe to run
again: the checkout is found by its idempotency key, the waiting user by its extension;
neither is made again once the customer has bought or removed it."""

import logging

from django.db import transaction

from billtone.accounts.models import Account
from billtone.basket.models import BasketLine, Checkout
from billtone.basket.services import (
    basket_item_add,
    basket_number_add,
    basket_user_add,
    checkout_with_funds,
)
from billtone.catalog.models import Product
from billtone.core.errors import ApplicationError
from billtone.core.services import Actor
from billtone.invoicing.services import invoice_pdf_render
from billtone.telephony.models import PhoneUser
from billtone.telephony.selectors import numbers_available

logger = logging.getLogger(__name__)

CHECKOUT_KEY = "demo-checkout"
BOUGHT = {"name": "Lena Fischer", "email": "lena.fischer@acme.example", "extension": "11"}
BOUGHT_TOO = {"name": "Mia Wagner", "email": "mia.wagner@acme.example", "extension": "13"}
WAITING = {"name": "Jonas Weber", "email": "jonas.weber@acme.example", "extension": "12"}


def _basket_fill(account: Account, actor: Actor) -> None:
    national = Product.objects.get(code="national")
    basket_user_add(account=account, plan_id=national.pk, actor=actor, **BOUGHT)
    international = Product.objects.get(code="international")
    basket_user_add(account=account, plan_id=international.pk, actor=actor, **BOUGHT_TOO)
    currency = account.billing_profile.currency
    numbers = numbers_available(country="DE", number_type="geographic", currency=currency, limit=1)
    if numbers:
        basket_number_add(account=account, number_id=numbers[0].pk, actor=actor)
    credit = Product.objects.get(code="credit-20")
    basket_item_add(account=account, product_id=credit.pk, actor=actor)


def demo_checkout(account: Account, actor: Actor) -> Checkout | None:
    """Fill the basket and pay it with business funds, once; then render the invoice's PDF
    here rather than wait for the worker (the demo's pages show it at once). Not when the
    customer's basket holds lines of their own: the demo pays for nothing it did not add."""
    if Checkout.objects.filter(account=account, idempotency_key=CHECKOUT_KEY).exists():
        return None
    if BasketLine.objects.filter(basket__account=account).exists():
        return None
    try:
        with transaction.atomic():  # a refusal (funds spent, extension taken) leaves nothing
            _basket_fill(account, actor)
            checkout = checkout_with_funds(
                account=account, idempotency_key=CHECKOUT_KEY, actor=actor
            )
    except ApplicationError as error:
        logger.warning("Demo checkout of %s not made: %s", account, error.detail)
        return None
    if checkout.invoice_id is not None:
        invoice_pdf_render(invoice_id=checkout.invoice_id)
    return checkout


def demo_basket_waiting(account: Account, actor: Actor) -> BasketLine | None:
    """A user on the International plan waiting in the basket, unless the account has had a
    user with that extension (waiting, bought or removed)."""
    if PhoneUser.objects.filter(account=account, extension=WAITING["extension"]).exists():
        return None
    plan = Product.objects.get(code="international")
    return basket_user_add(account=account, plan_id=plan.pk, actor=actor, **WAITING)
