"""A store item's stock taken at a sale: never below 0, nothing taken when short."""

import pytest

from billtone.catalog.models import Product
from billtone.catalog.services import ProductInput, product_save, product_stock_take
from billtone.core.errors import NotFound, ValidationFailed
from billtone.core.services import Actor

STAFF = Actor(label="staff")


def store_item(code: str, stock: int | None) -> Product:
    data = ProductInput(code=code, name=code, kind="store_item", stock=stock)
    return product_save(data=data, actor=STAFF)


def stock_of(product: Product) -> int | None:
    return Product.objects.get(pk=product.pk).stock


def test_stock_is_taken_down_to_zero_and_never_below(db):
    phone = store_item("desk-phone", 3)

    assert product_stock_take(product_id=phone.pk, quantity=2) is True
    assert stock_of(phone) == 1
    assert product_stock_take(product_id=phone.pk, quantity=2) is False
    assert stock_of(phone) == 1  # short: nothing taken
    assert product_stock_take(product_id=phone.pk, quantity=1) is True
    assert stock_of(phone) == 0
    assert product_stock_take(product_id=phone.pk, quantity=1) is False
    assert stock_of(phone) == 0


def test_a_stock_not_counted_is_always_taken_and_stays_uncounted(db):
    cable = store_item("cable", None)

    assert product_stock_take(product_id=cable.pk, quantity=500) is True
    assert stock_of(cable) is None


def test_a_bad_quantity_or_an_unknown_product_is_refused(db):
    phone = store_item("desk-phone", 3)

    for quantity in (0, -1, True, "2"):
        with pytest.raises(ValidationFailed):
            product_stock_take(product_id=phone.pk, quantity=quantity)
    with pytest.raises(NotFound):
        product_stock_take(product_id=phone.pk + 1000, quantity=1)
    assert stock_of(phone) == 3
