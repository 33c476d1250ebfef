"""What goes into the basket and comes out of it.

A phone user on a paid plan is created pending payment and waits in the basket; a Pay As You
Go user is active at once and never enters it. A number is held for the account (telephony's
number_hold) while it is in the basket. The bin takes out every line of a product, releasing
its numbers and discarding its pending users; so does emptying the basket. Cancel on the
basket page changes nothing.
"""

import functools

from django.db import IntegrityError, connection, transaction

from billtone.accounts.models import Account
from billtone.basket.models import COUNTED_KINDS, Basket, BasketLine, LineKind
from billtone.basket.selectors import ID_MAX, basket_line_get
from billtone.catalog.selectors import offer_get
from billtone.core import clock
from billtone.core.errors import NotFound, ValidationFailed
from billtone.core.rows import ModelColumns
from billtone.core.services import Actor
from billtone.telephony import services as telephony

MAX_QUANTITY = 1000
MESSAGE_QUANTITY = "Enter a quantity of at least 1. To take the item out, use the bin."


@functools.cache
def _basket_lock_query() -> tuple[str, ModelColumns]:
    """Every basket write and checkout runs it: written once (core/rows.py; decision 0021)."""
    columns = ModelColumns(Basket, "b")
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    return f"SELECT {columns.select} FROM {columns.table} WHERE b.account_id = %s{lock}", columns  # noqa: S608 (names from the model)


def basket_lock(*, account: Account) -> Basket:
    """The account's basket, made on first use, locked: every write to the basket and every
    checkout holds it first, so that they run one at a time per account."""
    sql, columns = _basket_lock_query()
    found = columns.fetch(sql, [account.pk])
    if found:
        return found[0]
    try:
        with transaction.atomic():
            now = clock.now()
            Basket.objects.create(account=account, created_at=now, updated_at=now)
    except IntegrityError:
        pass  # made at the same moment by another request
    return Basket.objects.select_for_update().get(account=account)


def _offer(*, account: Account, product_id: object, kinds: tuple[str, ...], field: str):
    currency = account.billing_profile.currency
    try:
        if not 0 < int(product_id) <= ID_MAX:
            raise ValueError(product_id)
        offer = offer_get(product_id=int(product_id), currency=currency)
    except (NotFound, TypeError, ValueError):
        raise ValidationFailed(
            {field: [f"Choose a product sold in {currency}."]},
            detail=f"This product is not sold in {currency}.",
        ) from None
    if offer.product.kind not in kinds:
        raise ValidationFailed({field: ["This product cannot be added here."]})
    return offer


def _line_add(*, basket: Basket, offer, kind: str, quantity: int = 1, **item) -> BasketLine:
    now = clock.now()
    basket.updated_at = now
    basket.save(update_fields=["updated_at"])
    return BasketLine.objects.create(
        basket=basket,
        kind=kind,
        product=offer.product,
        quantity=quantity,
        unit_price_seen=offer.price.amount,
        setup_price_seen=offer.setup.amount,
        currency=offer.price.currency,
        added_at=now,
        **item,
    )


def basket_user_add(
    *, account: Account, name: str, email: str, extension: str, plan_id: int, actor: Actor
):
    """Add a phone user: on a paid plan it waits in the basket (returns its line), on Pay As
    You Go it is active at once (returns None: nothing to pay)."""
    offer = _offer(account=account, product_id=plan_id, kinds=("plan",), field="plan_id")
    with transaction.atomic():
        basket = basket_lock(account=account)
        user = telephony.phone_user_create(
            account=account,
            name=name,
            email=email,
            extension=extension,
            plan=offer.product,
            actor=actor,
        )
        if user.status != "pending_payment":
            return None
        return _line_add(basket=basket, offer=offer, kind=LineKind.PLAN, phone_user=user)


def basket_number_add(*, account: Account, number_id: int, actor: Actor) -> BasketLine:
    """Hold the number for the account and add it. Already in the basket: its line."""
    if not isinstance(number_id, int) or not 0 < number_id <= ID_MAX:
        raise ValidationFailed({"number_id": ["Choose a number."]}, detail="Choose a number.")
    with transaction.atomic():
        basket = basket_lock(account=account)
        existing = basket.lines.filter(phone_number_id=number_id).first()
        if existing is not None:
            return existing
        number = telephony.number_hold(account=account, number_id=number_id, actor=actor)
        offer = _offer(
            account=account, product_id=number.product_id, kinds=("number",), field="number_id"
        )
        return _line_add(basket=basket, offer=offer, kind=LineKind.NUMBER, phone_number=number)


def _quantity_clean(quantity: object) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int | str):
        raise ValidationFailed({"quantity": [MESSAGE_QUANTITY]}, detail=MESSAGE_QUANTITY)
    text = str(quantity).strip()
    if not (text.isascii() and text.lstrip("-").isdigit()) or int(text) < 1:
        raise ValidationFailed({"quantity": [MESSAGE_QUANTITY]}, detail=MESSAGE_QUANTITY)
    if int(text) > MAX_QUANTITY:
        message = f"At most {MAX_QUANTITY} at a time."
        raise ValidationFailed({"quantity": [message]}, detail=message)
    return int(text)


def _stock_check(offer, quantity: int) -> None:
    stock = offer.product.stock
    if offer.product.kind == "store_item" and stock is not None and quantity > stock:
        message = f"Only {stock} of {offer.product.name} in stock."
        raise ValidationFailed({"quantity": [message]}, detail=message)


def basket_item_add(
    *,
    account: Account,
    product_id: int,
    quantity: int | str = 1,
    actor: Actor,
    kind: str | None = None,
) -> BasketLine:
    """Add call credit or a store item (of `kind`, if given); the same product again raises
    its line's quantity."""
    quantity = _quantity_clean(quantity)
    kinds = (kind,) if kind in COUNTED_KINDS else COUNTED_KINDS
    offer = _offer(account=account, product_id=product_id, kinds=kinds, field="product_id")
    with transaction.atomic():
        basket = basket_lock(account=account)
        line = basket.lines.filter(product=offer.product, kind__in=COUNTED_KINDS).first()
        if line is None:
            _stock_check(offer, quantity)
            return _line_add(basket=basket, offer=offer, kind=offer.product.kind, quantity=quantity)
        _stock_check(offer, line.quantity + quantity)
        _quantity_write(line, line.quantity + quantity)
        return line


def _quantity_write(line: BasketLine, quantity: int) -> None:
    if quantity > MAX_QUANTITY:
        message = f"At most {MAX_QUANTITY} at a time."
        raise ValidationFailed({"quantity": [message]}, detail=message)
    BasketLine.objects.filter(pk=line.pk).update(quantity=quantity)
    Basket.objects.filter(pk=line.basket_id).update(updated_at=clock.now())
    line.quantity = quantity


def basket_line_quantity_set(
    *, account: Account, line_id: int, quantity: int | str, actor: Actor
) -> BasketLine:
    """The -/+ of a line of call credit or store items. Below 1 is refused (the bin
    removes)."""
    quantity = _quantity_clean(quantity)
    with transaction.atomic():
        basket_lock(account=account)
        line = basket_line_get(account=account, line_id=line_id)
        if line.kind not in COUNTED_KINDS:
            message = "A phone user or number is one item: remove it with the bin."
            raise ValidationFailed({"quantity": [message]}, detail=message)
        offer = _offer(
            account=account, product_id=line.product_id, kinds=COUNTED_KINDS, field="quantity"
        )
        _stock_check(offer, quantity)
        _quantity_write(line, quantity)
    return line


def basket_line_quantity_step(
    *, account: Account, line_id: int, step: int, actor: Actor
) -> BasketLine:
    """-/+ one: the page's buttons. From 1, "-" is refused like a quantity of 0."""
    line = basket_line_get(account=account, line_id=line_id)
    return basket_line_quantity_set(
        account=account, line_id=line_id, quantity=line.quantity + step, actor=actor
    )


def _lines_remove(*, account: Account, lines: list[BasketLine], actor: Actor) -> int:
    for line in lines:
        if line.kind == LineKind.NUMBER:
            telephony.number_release(account=account, number_id=line.phone_number_id)
        elif line.kind == LineKind.PLAN:
            telephony.phone_user_discard(account=account, user_id=line.phone_user_id)
    BasketLine.objects.filter(pk__in=[line.pk for line in lines]).delete()
    return len(lines)


def basket_line_remove(*, account: Account, line_id: int, actor: Actor) -> int:
    with transaction.atomic():
        basket_lock(account=account)
        line = basket_line_get(account=account, line_id=line_id)
        return _lines_remove(account=account, lines=[line], actor=actor)


def basket_product_remove(*, account: Account, product_id: int, actor: Actor) -> int:
    """The bin: every line of the product goes, its numbers released and its pending users
    discarded. Returns how many lines went; none is NotFound."""
    with transaction.atomic():
        basket = basket_lock(account=account)
        lines = []
        if isinstance(product_id, int) and 0 < product_id <= ID_MAX:
            lines = list(basket.lines.filter(product_id=product_id))
        if not lines:
            raise NotFound("No such product in this basket.")
        return _lines_remove(account=account, lines=lines, actor=actor)


def basket_empty(*, account: Account, actor: Actor) -> int:
    with transaction.atomic():
        basket = basket_lock(account=account)
        return _lines_remove(account=account, lines=list(basket.lines.all()), actor=actor)


def basket_lines_clear(*, basket: Basket) -> None:
    """After a checkout paid them: the lines go, their items stay (allocated)."""
    # Plain SQL: the ORM's query building cost ten times the round trips (decision 0021).
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM basket_basketline WHERE basket_id = %s", [basket.pk])
        cursor.execute(
            "UPDATE basket_basket SET updated_at = %s WHERE id = %s",
            [connection.ops.adapt_datetimefield_value(clock.now()), basket.pk],
        )
