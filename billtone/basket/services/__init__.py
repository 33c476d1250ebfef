"""Writes of the basket app, split by sub-domain; import them from here."""

from billtone.basket.services.checkout import (
    checkout_complete,
    checkout_settle,
    checkout_with_card,
    checkout_with_funds,
)
from billtone.basket.services.lines import (
    basket_empty,
    basket_item_add,
    basket_line_quantity_set,
    basket_line_quantity_step,
    basket_line_remove,
    basket_lock,
    basket_number_add,
    basket_product_remove,
    basket_user_add,
)

__all__ = [
    "basket_empty",
    "basket_item_add",
    "basket_line_quantity_set",
    "basket_line_quantity_step",
    "basket_line_remove",
    "basket_lock",
    "basket_number_add",
    "basket_product_remove",
    "basket_user_add",
    "checkout_complete",
    "checkout_settle",
    "checkout_with_card",
    "checkout_with_funds",
]
