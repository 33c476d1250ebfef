"""Checkout: pay the basket with business funds, a saved card or a new card (decision 0019).

With business funds, everything happens in one database transaction (fulfil.basket_pay): a
refusal (a shortfall, a lapsed hold, a quote changed since it was shown) leaves no trace.

By card, in the three steps of payments.card_charge: the checkout is committed pending with
the quote the customer agreed to (its key names the card payment: "basket-checkout:<id>"); the card
is charged, no lock held, purpose business funds, so that the money lands on business funds
through the existing card flow; then, once the charge succeeded (at once, or after 3-D Secure
in checkout_complete), the funds checkout runs in one transaction keyed on the checkout. A
decline fails the checkout and leaves the basket as it was; if the completion is refused
after the card was charged, the money stays on business funds and the customer is told so.
"""

import functools
import logging
from contextlib import nullcontext

from django.db import IntegrityError, connection, transaction

from billtone.accounts.models import Account
from billtone.basket.errors import BasketEmpty, BasketNotPayable, QuoteChanged
from billtone.basket.models import (
    OPEN_STATUSES,
    Basket,
    Checkout,
    CheckoutMethod,
    CheckoutStatus,
    LineKind,
)
from billtone.basket.quote import quote_changes, quote_token
from billtone.basket.selectors import (
    ORPHAN_AFTER,
    BasketView,
    basket_line_keys,
    basket_quote_get,
    checkout_get,
    line_keys,
)
from billtone.basket.services.fulfil import basket_pay, checkout_key
from billtone.basket.services.lines import basket_lock
from billtone.catalog.selectors import operator_profile_get
from billtone.core import clock
from billtone.core.errors import ApplicationError, NotFound, ValidationFailed
from billtone.core.rows import ModelColumns
from billtone.core.services import Actor
from billtone.ledger.selectors import account_locale
from billtone.payments import selectors as payment_selectors
from billtone.payments import services as payment_services
from billtone.payments.errors import CardAlreadySaved
from billtone.payments.models import Payment, PaymentPurpose, PaymentStatus, SavedCard
from billtone.telephony import services as telephony

logger = logging.getLogger(__name__)
SETTLER = Actor.system("basket.checkout_settle")


def _key_clean(idempotency_key: object) -> str:
    if not isinstance(idempotency_key, str) or not idempotency_key.strip():
        raise ValidationFailed({"idempotency_key": ["An idempotency key is required."]})
    if len(idempotency_key) > 255:
        raise ValidationFailed({"idempotency_key": ["At most 255 characters."]})
    return idempotency_key


def _existing(*, account: Account, key: str) -> Checkout | None:
    # Plain SQL: a first look-up finds nothing, and the ORM's query building cost ten times
    # the round trip (decision 0021).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM basket_checkout WHERE account_id = %s AND idempotency_key = %s",
            [account.pk, key],
        )
        found = cursor.fetchone()
    return None if found is None else Checkout.objects.get(pk=found[0])


def quote_check(
    *, view: BasketView, quote_token_shown: str | None = None, shown_quote: dict | None = None
) -> None:
    """Refuse a basket that cannot be paid as it is, or that costs something else now than
    the quote the customer was shown (its token, or the quote itself)."""
    if view.is_empty:
        raise BasketEmpty()
    if view.problems:
        raise BasketNotPayable(view.problems)
    expected = quote_token(shown_quote) if shown_quote else quote_token_shown
    if expected and expected != view.token:
        now = view.quote.as_json()
        changes = quote_changes(shown=shown_quote, now=now) if shown_quote else []
        raise QuoteChanged(changes or [f"The total is now {view.gross.format(view.locale)}."])


def _create(*, account: Account, key: str, method: str, view: BasketView, actor: Actor):
    # Written once (core/rows.py): every checkout inserts one (decision 0021).
    return _CHECKOUT_ROWS.insert(
        Checkout(
            account=account,
            idempotency_key=key,
            method=method,
            status=CheckoutStatus.PENDING,
            quote=view.quote.as_json(),
            gross=view.gross.amount,
            currency=view.currency,
            created_by=actor.label[:200],
            created_at=view.bought_at,
        )
    )


_CHECKOUT_ROWS = ModelColumns(Checkout, "c")


def checkout_with_funds(
    *,
    account: Account,
    idempotency_key: str,
    actor: Actor,
    quote_token_shown: str | None = None,
    shown_quote: dict | None = None,
) -> Checkout:
    """Pay the basket from business funds. The same key again returns the first checkout."""
    key = _key_clean(idempotency_key)
    existing = _existing(account=account, key=key)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            basket = basket_lock(account=account)
            view = basket_quote_get(account=account)
            quote_check(view=view, quote_token_shown=quote_token_shown, shown_quote=shown_quote)
            checkout = _create(
                account=account, key=key, method=CheckoutMethod.FUNDS, view=view, actor=actor
            )
            return basket_pay(
                account=account, basket=basket, checkout=checkout, view=view, actor=actor
            )
    except IntegrityError:
        existing = _existing(account=account, key=key)
        if existing is None:
            raise
        return existing


def _card_for(
    *, account: Account, card_id: object, new_card: dict | None, actor: Actor
) -> SavedCard:
    if new_card is not None:
        try:
            return payment_services.card_add(account=account, actor=actor, **new_card)
        except CardAlreadySaved as error:  # the card typed is saved already: pay with it
            return payment_selectors.card_get(account=account, card_id=error.card_id)
    try:
        return payment_selectors.card_get(account=account, card_id=int(card_id))
    except (NotFound, TypeError, ValueError):
        raise ValidationFailed(
            {"card_id": ["Choose one of your saved cards."]},
            detail="Choose one of your saved cards.",
        ) from None


def _committed_alone():
    """For one INSERT that must be committed before the card is charged: in autocommit it
    commits on its own, with no BEGIN and COMMIT round trips; inside another transaction the
    durable block refuses, as it always did (a test's own transaction aside)."""
    if transaction.get_connection().get_autocommit():
        return nullcontext()
    return transaction.atomic(durable=True)


def checkout_with_card(
    *,
    account: Account,
    idempotency_key: str,
    actor: Actor,
    card_id: int | None = None,
    new_card: dict | None = None,
    save_card: bool = True,
    quote_token_shown: str | None = None,
    shown_quote: dict | None = None,
) -> Checkout:
    """Pay the basket by card: a saved card (`card_id`), or a new one (`new_card`: the
    arguments of payments' card_add) kept as a saved card if `save_card`. Returns the
    checkout: completed, failed (a decline: failure_message), or awaiting_payment (3-D
    Secure: then checkout_complete; or an outcome the gateway has not told yet)."""
    key = _key_clean(idempotency_key)
    existing = _existing(account=account, key=key)
    if existing is not None:
        return existing
    view = basket_quote_get(account=account)
    quote_check(view=view, quote_token_shown=quote_token_shown, shown_quote=shown_quote)
    if view.gross.is_zero():  # nothing to charge: a card cannot pay 0
        return checkout_with_funds(account=account, idempotency_key=key, actor=actor)
    card = _card_for(account=account, card_id=card_id, new_card=new_card, actor=actor)
    number_ids = [v.line.phone_number_id for v in view.lines if v.line.kind == LineKind.NUMBER]
    if number_ids:  # the holds outlive the payment and its 3-D Secure step
        telephony.number_hold_extend(
            account=account,
            number_ids=number_ids,
            minutes=(view.operator or operator_profile_get()).number_hold_minutes,
        )
    method = CheckoutMethod.NEW_CARD if new_card is not None else CheckoutMethod.SAVED_CARD
    try:
        with _committed_alone():
            checkout = _create(account=account, key=key, method=method, view=view, actor=actor)
    except IntegrityError:
        existing = _existing(account=account, key=key)
        if existing is None:
            raise
        return existing
    try:
        payment = payment_services.card_charge(
            account=account,
            card=card,
            amount=view.gross,
            purpose=PaymentPurpose.BUSINESS_FUNDS,
            on_session=True,
            idempotency_key=checkout_key(checkout),
            actor=actor,
            description=f"Basket checkout #{checkout.pk}",
            spent_at_once=True,  # _settle spends it: billing must not pay open invoices first
        )
    except ApplicationError as error:  # refused before the gateway: nothing was charged
        _fail(checkout_id=checkout.pk, message=error.detail)
        raise
    if payment.status not in (PaymentStatus.SUCCEEDED, PaymentStatus.FAILED):
        Checkout.objects.filter(pk=checkout.pk).update(
            payment=payment, status=CheckoutStatus.AWAITING_PAYMENT
        )
    # else _settle links the payment in the transaction that completes or fails the checkout;
    # a process stopped before that leaves it pending, found by its key (_orphan_settle).
    if new_card is not None and not save_card:
        _card_forget(account=account, card=card, actor=actor)
    return _settle(
        account=account, checkout_id=checkout.pk, payment=payment, actor=actor, quoted=view
    )


def _card_forget(*, account: Account, card: SavedCard, actor: Actor) -> None:
    """A new card the customer did not want saved is removed once it has paid."""
    try:
        payment_services.card_remove(account=account, card_id=card.pk, actor=actor)
    except ApplicationError as error:
        logger.info("Account %s: card %s kept: %s", account.pk, card.pk, error.detail)


def checkout_complete(*, account: Account, checkout_id: int, actor: Actor) -> Checkout:
    """After 3-D Secure (or once an unknown outcome is settled): confirm the card payment if
    it still waits for the customer's authentication, then pay the basket if it succeeded.
    A settled checkout is returned as it is."""
    checkout = checkout_get(account=account, checkout_id=checkout_id)
    if checkout.status in (CheckoutStatus.COMPLETED, CheckoutStatus.FAILED):
        return checkout
    payment = checkout.payment
    if payment is None:
        return checkout
    if payment.status == PaymentStatus.REQUIRES_ACTION:
        payment = payment_services.charge_confirm(
            account=account, payment=payment, actor=actor, spent_at_once=True
        )
    elif payment.status in (PaymentStatus.PENDING, PaymentStatus.ERRORED):
        payment = payment_services.payment_recover(payment=payment, actor=actor)
    return _settle(account=account, checkout_id=checkout.pk, payment=payment, actor=actor)


def checkout_settle(*, checkout_id: int, actor: Actor = SETTLER) -> Checkout:
    """Settle a card checkout whose payment got its outcome after the customer left (the
    payments app's recovery of an unknown outcome): completed if the payment succeeded,
    failed if it failed, through the path "Check again" takes. Never asks the gateway: a
    payment still unknown, or waiting for 3-D Secure, leaves the checkout as it is (its holds
    lapse as usual). Safe to run twice and at once: the checkout's row lock and its keys."""
    checkout = Checkout.objects.select_related("account", "payment").get(pk=checkout_id)
    payment = checkout.payment
    if checkout.status not in OPEN_STATUSES:
        return checkout
    if payment is None:
        return _orphan_settle(checkout=checkout, actor=actor)
    if payment.status not in (PaymentStatus.SUCCEEDED, PaymentStatus.FAILED):
        return checkout
    return _settle(account=checkout.account, checkout_id=checkout.pk, payment=payment, actor=actor)


def _orphan_settle(*, checkout: Checkout, actor: Actor) -> Checkout:
    """A card checkout whose process stopped between committing it and linking its payment:
    the payment started under the checkout's key is linked and settled as any other; none
    after ORPHAN_AFTER means the card was never charged, and the checkout fails."""
    if checkout.status != CheckoutStatus.PENDING or checkout.created_at >= (
        clock.now() - ORPHAN_AFTER
    ):
        return checkout  # its process may still be on its way to the gateway
    payment = payment_selectors.payment_by_key(
        account=checkout.account, idempotency_key=checkout_key(checkout)
    )
    if payment is None:
        return _fail(
            checkout_id=checkout.pk,
            message="The card payment never reached the payment provider: nothing was charged.",
        )
    Checkout.objects.filter(pk=checkout.pk, status=CheckoutStatus.PENDING).update(
        payment=payment, status=CheckoutStatus.AWAITING_PAYMENT
    )
    return _settle(account=checkout.account, checkout_id=checkout.pk, payment=payment, actor=actor)


@functools.cache
def _checkout_lock_query() -> tuple[str, list[ModelColumns]]:
    """Every card checkout's settlement runs it: written once (core/rows.py), the checkout
    and its account's basket locked in one statement, in that order as before (decision
    0021)."""
    checkout, basket = ModelColumns(Checkout, "c"), ModelColumns(Basket, "b")
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    sql = (
        f"SELECT {checkout.select}, {basket.select} FROM {checkout.table} "  # noqa: S608 (names from the models)
        f"JOIN {basket.table} ON b.account_id = c.account_id WHERE c.id = %s{lock}"
    )
    return sql, [checkout, basket]


def _checkout_lock(*, account: Account, checkout_id: int) -> tuple[Checkout, Basket | None]:
    """The checkout locked, and its account's basket with it; the basket is None (not
    locked) when the checkout is settled already."""
    sql, (checkout, basket) = _checkout_lock_query()
    using = connection.alias
    with connection.cursor() as cursor:
        cursor.execute(sql, [checkout_id])
        row = cursor.fetchone()
    if row is None:  # no basket (never the case once a quote was paid): as before the merge
        locked = Checkout.objects.select_for_update().get(pk=checkout_id)
        if locked.status not in OPEN_STATUSES:
            return locked, None
        return locked, basket_lock(account=account)
    locked = checkout.instance(row, 0, using=using)
    if locked.status not in OPEN_STATUSES:
        return locked, None
    return locked, basket.instance(row, len(checkout), using=using)


def _settle(
    *,
    account: Account,
    checkout_id: int,
    payment: Payment,
    actor: Actor,
    quoted: BasketView | None = None,
) -> Checkout:
    """Pay the basket from business funds once the card payment succeeded. `quoted`: the
    quote this same request made when the customer pressed Pay (checkout.created_at) and
    stored with the checkout; it is paid as it is when the basket's lines are still the ones
    it priced (0021), otherwise the basket is priced again and compared with it."""
    if payment.status == PaymentStatus.FAILED:
        return _fail(checkout_id=checkout_id, message=payment.failure_message, payment=payment)
    if payment.status != PaymentStatus.SUCCEEDED:
        return Checkout.objects.get(pk=checkout_id)  # 3-D Secure, or an outcome to come
    try:
        with transaction.atomic():
            checkout, basket = _checkout_lock(account=account, checkout_id=checkout_id)
            if basket is None:  # settled already
                return checkout
            checkout.payment = payment  # saved with the checkout's completion
            if quoted is not None and basket_line_keys(account=account) == line_keys(quoted):
                view = quoted  # the lines it priced, as charged: no second pricing
            else:
                view = basket_quote_get(account=account, at=checkout.created_at)
                quote_check(view=view, shown_quote=checkout.quote)
            return basket_pay(
                account=account, basket=basket, checkout=checkout, view=view, actor=actor
            )
    except ApplicationError as error:
        paid = payment.money.format(account_locale(account=account))
        message = (
            f"Your card payment of {paid} was added to your business funds, but the basket "
            f"could not be paid: {error.detail} The money stays in your business funds: pay "
            "the basket with business funds when it is ready."
        )
        logger.info("Checkout %s: paid by card, not completed: %s", checkout_id, error.slug)
        return _fail(checkout_id=checkout_id, message=message, payment=payment)


def _fail(*, checkout_id: int, message: str, payment: Payment | None = None) -> Checkout:
    linked = {"payment": payment} if payment is not None else {}
    Checkout.objects.filter(
        pk=checkout_id,
        status__in=(CheckoutStatus.PENDING, CheckoutStatus.AWAITING_PAYMENT),
    ).update(status=CheckoutStatus.FAILED, failure_message=message[:500], **linked)
    return Checkout.objects.select_related("payment", "invoice").get(pk=checkout_id)
