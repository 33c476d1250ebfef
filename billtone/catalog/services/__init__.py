"""Writes of the catalog; import them from here.

- operator: the operator's profile and billing policy (one row).
- products: products and their prices per currency.
- stock: a store item's stock, taken when it is sold (checkout calls it).
- tax_rates: the VAT rate per country.
"""

from billtone.catalog.services.operator import (
    OperatorProfileInput,
    operator_profile_clean,
    operator_profile_update,
)
from billtone.catalog.services.products import (
    ProductInput,
    price_clean,
    price_remove,
    price_set,
    product_clean,
    product_save,
)
from billtone.catalog.services.stock import product_stock_take
from billtone.catalog.services.tax_rates import tax_rate_clean, tax_rate_set

__all__ = [
    "OperatorProfileInput",
    "ProductInput",
    "operator_profile_clean",
    "operator_profile_update",
    "price_clean",
    "price_remove",
    "price_set",
    "product_clean",
    "product_save",
    "product_stock_take",
    "tax_rate_clean",
    "tax_rate_set",
]
