"""Paying the basket from business funds, all or nothing, inside the caller's transaction.

In this order, the basket locked by the caller: the quote's postings on their ledger accounts
(a Shortfall when business funds do not hold the gross), the users and numbers activated
(telephony.items_activate: a lapsed hold raises), an order for store items (stock taken by
catalog's product_stock_take: a conditional update), the basket emptied, the invoice drafted
(invoicing.invoice_draft: its key taken ahead, its lines, tax rows and email stored), a
subscription per monthly item, the checkout completed; then, last, the two writes every
checkout waits for: the ledger transaction (business funds pay the gross, refused at the
floor as a shortfall; it locks the operator's revenue and tax accounts) and the invoice
issued (invoicing.invoice_draft_issue: checked against the postings, numbered, inserted).
Those rows stay locked until the caller commits, so nothing else is done after them
(decision 0034). Any error rolls all of it back.
"""

from django.db import connection

from billtone.accounts.models import Account
from billtone.basket.errors import Shortfall
from billtone.basket.models import Basket, Checkout, CheckoutStatus, LineKind, Order, OrderLine
from billtone.basket.quote import BUSINESS_FUNDS, Quote
from billtone.basket.selectors import BasketView
from billtone.basket.services.lines import basket_lines_clear
from billtone.catalog.services import product_stock_take
from billtone.core import clock
from billtone.core.errors import ValidationFailed
from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.invoicing.models import Invoice
from billtone.invoicing.services import invoice_draft, invoice_draft_issue, subscription_start
from billtone.ledger.errors import InsufficientFunds
from billtone.ledger.services import (
    Leg,
    customer_ledger_accounts,
    posting_ledger_accounts,
    transaction_post,
)
from billtone.telephony import services as telephony

ITEM_KINDS = {LineKind.PLAN: "phone_user", LineKind.NUMBER: "phone_number"}


def checkout_key(checkout: Checkout) -> str:
    """What a checkout's card payment, ledger transaction and invoice are keyed on: one
    checkout pays, posts and invoices once, whoever retries."""
    return f"basket-checkout:{checkout.pk}"


def _shortfall(*, account: Account, gross: Money, locale: str) -> Shortfall:
    funds = customer_ledger_accounts(account=account).business_funds
    return Shortfall(
        balance=Money(funds.balance, gross.currency).rounded(), gross=gross, locale=locale
    )


def _ledger_legs(*, account: Account, quote: Quote, locale: str) -> list[Leg]:
    """The quote's postings on the ledger accounts they name; a Shortfall when business funds
    do not hold the gross now (read, not locked: the posting's floor decides at the end)."""
    customer_kinds = {BUSINESS_FUNDS, "call_credit"}
    operator_kinds = sorted({leg.ledger_kind for leg in quote.legs} - customer_kinds)
    ledger, accounts = posting_ledger_accounts(account=account, operator_kinds=operator_kinds)
    if Money(ledger.business_funds.balance, quote.currency) < quote.gross:
        raise _shortfall(account=account, gross=quote.gross, locale=locale)
    accounts |= {BUSINESS_FUNDS: ledger.business_funds, "call_credit": ledger.call_credit}
    return [Leg(accounts[leg.ledger_kind], leg.amount) for leg in quote.legs]


def _ledger_post(
    *, account: Account, checkout: Checkout, legs: list[Leg], gross: Money, locale: str, actor
):
    try:
        return transaction_post(
            kind="checkout",
            memo=f"Basket checkout #{checkout.pk}",
            postings=legs,
            idempotency_key=checkout_key(checkout),
            actor=actor,
        )
    except InsufficientFunds:
        raise _shortfall(account=account, gross=gross, locale=locale) from None


def _order_place(*, account: Account, checkout: Checkout, view: BasketView) -> Order | None:
    stored = [v for v in view.lines if v.line.kind == LineKind.STORE_ITEM]
    if not stored:
        return None
    order = Order.objects.create(account=account, checkout=checkout, created_at=clock.now())
    for item in stored:
        line = item.line
        if not product_stock_take(product_id=line.product_id, quantity=line.quantity):
            message = f"{line.product.name}: not enough left in stock. Lower the quantity."
            raise ValidationFailed({"quantity": [message]}, detail=message)
        OrderLine.objects.create(
            order=order,
            product_id=line.product_id,
            description=item.description,
            quantity=line.quantity,
            unit_price=item.unit_price.amount,
            currency=item.unit_price.currency,
        )
    return order


def _subscriptions_start(*, account: Account, view: BasketView, invoice) -> None:
    by_line = {v.line.pk: v.line for v in view.lines}
    for item, lines in view.quote.items:
        if item.kind not in ITEM_KINDS:
            continue
        line = by_line[item.line_id]
        subscription_start(
            account=account,
            product=line.product,
            item_kind=ITEM_KINDS[item.kind],
            item_id=line.phone_user_id if item.kind == LineKind.PLAN else line.phone_number_id,
            description=item.description,
            unit_price=item.price,
            started_on=lines[0].period_start,
            paid_through=lines[0].period_end,
            invoice=invoice,
        )


def basket_pay(
    *, account: Account, basket: Basket, checkout: Checkout, view: BasketView, actor: Actor
) -> Checkout:
    """Pay `view` (the basket's quote, made under the basket's lock) from business funds and
    allocate what it buys. Inside the caller's transaction; raises and writes nothing on any
    refusal. `checkout`: inserted in this transaction, or locked while still open, so that
    nothing was invoiced under its key yet."""
    quote = view.quote
    free = quote.gross.is_zero()  # nothing to post or invoice (invoicing refuses a zero total)
    legs = [] if free else _ledger_legs(account=account, quote=quote, locale=view.locale)
    lines = [v.line for v in view.lines]
    telephony.items_activate(
        account=account,
        user_ids=[line.phone_user_id for line in lines if line.kind == LineKind.PLAN],
        number_ids=[line.phone_number_id for line in lines if line.kind == LineKind.NUMBER],
        at=clock.now(),
    )
    _order_place(account=account, checkout=checkout, view=view)
    basket_lines_clear(basket=basket)
    draft = None
    if not free:
        draft = invoice_draft(
            account=account,
            totals=quote.totals,
            tax=view.tax,
            source_key=checkout_key(checkout),
            actor=actor,
            operator=view.operator,  # read once per checkout (decision 0021)
        )
        _subscriptions_start(account=account, view=view, invoice=draft.invoice)
    _checkout_complete(checkout=checkout, invoice=draft.invoice if draft else None)
    if draft is not None:
        # Last, the rows every checkout waits for (decision 0034): the operator's ledger
        # accounts, locked by the posting, and the invoice number, locked by the issue,
        # are held from here until the caller commits.
        ledger_transaction = _ledger_post(
            account=account,
            checkout=checkout,
            legs=legs,
            gross=quote.gross,
            locale=view.locale,
            actor=actor,
        )
        invoice_draft_issue(draft=draft, ledger_transaction=ledger_transaction)
    return checkout


def _checkout_complete(*, checkout: Checkout, invoice: Invoice | None) -> None:
    checkout.status = CheckoutStatus.COMPLETED
    checkout.invoice = invoice
    checkout.completed_at = clock.now()
    checkout.failure_message = ""
    # Plain SQL: the ORM's query building cost ten times the round trip (decision 0021).
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE basket_checkout SET status = %s, payment_id = %s, invoice_id = %s, "
            "completed_at = %s, failure_message = '' WHERE id = %s",
            [
                checkout.status,
                checkout.payment_id,
                checkout.invoice_id,
                connection.ops.adapt_datetimefield_value(checkout.completed_at),
                checkout.pk,
            ],
        )
