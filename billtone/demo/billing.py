"""Monthly bills in the demo (issue 18), through the basket's and billing's own services: a
customer that bought a user on the National plan and a UK number with a card it did not
keep, whose first monthly bill a bill run issued ahead of its moment (`at=`) and could not
collect (no business funds, automatic card payments off): an open invoice, and a Next Bill
that warns nothing will pay the bill after it. Safe to run again: the checkout is found by
its idempotency key, the bill by its unique source key."""

import logging

from django.conf import settings
from django.db import transaction

from billtone.accounts.models import Account
from billtone.basket.models import BasketLine, Checkout
from billtone.basket.services import basket_number_add, basket_user_add, checkout_with_card
from billtone.billing.selectors import next_bills
from billtone.billing.services import bill_chunk
from billtone.catalog.models import Product
from billtone.core import clock
from billtone.core.errors import ApplicationError
from billtone.core.services import Actor
from billtone.invoicing.models import Invoice
from billtone.invoicing.services import invoice_pdf_render
from billtone.telephony.selectors import numbers_available

logger = logging.getLogger(__name__)

CARD_CHECKOUT_KEY = "demo-card-checkout"
BOUGHT = {"name": "Oliver Hughes", "email": "oliver.hughes@globex.example", "extension": "21"}


def _card_checkout(account: Account, actor: Actor) -> Checkout | None:
    if Checkout.objects.filter(account=account, idempotency_key=CARD_CHECKOUT_KEY).exists():
        return None
    if BasketLine.objects.filter(basket__account=account).exists():
        return None  # the customer's own basket: the demo pays for nothing it did not add
    national = Product.objects.get(code="national")
    currency = account.billing_profile.currency
    try:
        with transaction.atomic():
            basket_user_add(account=account, plan_id=national.pk, actor=actor, **BOUGHT)
            numbers = numbers_available(
                country="GB", number_type="geographic", currency=currency, limit=1
            )
            if numbers:
                basket_number_add(account=account, number_id=numbers[0].pk, actor=actor)
        return checkout_with_card(
            account=account,
            idempotency_key=CARD_CHECKOUT_KEY,
            actor=actor,
            new_card={
                "number": "4242424242424242",
                "exp_month": 12,
                "exp_year": clock.now().year + 3,
                "cvc": "123",
                "holder_name": "Oliver Hughes",
            },
            save_card=False,
        )
    except ApplicationError as error:
        logger.warning("Demo card checkout of %s not made: %s", account, error.detail)
        return None


def demo_open_bill(account: Account, actor: Actor) -> Invoice | None:
    """The account's first monthly bill, issued by a bill run at its moment and left open;
    None when the sandbox gateway is not the one configured or it exists already."""
    if settings.BILLTONE_PAYMENT_GATEWAY != "sandbox":
        return None
    _card_checkout(account, actor)
    bills = Invoice.objects.filter(account=account, source_key__startswith="bill:")
    if bills.exists():
        return None
    ahead = next_bills(account=account, count=1)
    if not ahead:
        return None
    # Only this account: a bill run at this moment would bill the other demo accounts too.
    bill_chunk(account_ids=[account.pk], at=ahead[0].moment, run_id=None, actor=actor)
    invoice = bills.first()
    if invoice is not None:  # its PDF now, as demo/basket.py does: the pages show it at once
        invoice_pdf_render(invoice_id=invoice.pk)
    return invoice
