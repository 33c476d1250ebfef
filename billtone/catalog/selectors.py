"""Reads of the catalog: what is offered in a currency, at what price; the VAT rates; the
operator's profile and billing policy. The catalog is the operator's, the same for every
account: an account's currency is what scopes an offer."""

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from billtone.catalog.models import OperatorProfile, Price, Product, TaxRate
from billtone.catalog.quick_add import quick_add_parse
from billtone.core.errors import NotFound
from billtone.core.money import AmountError, Money
from billtone.core.rows import ModelColumns


@dataclass(frozen=True)
class Offer:
    product: Product
    price: Money  # net: the monthly fee of a monthly product, the price of a one-off one
    setup: Money  # net one-off setup fee (numbers); zero otherwise


def _offers(*, currency: str):
    return (
        Price.objects.filter(currency=currency, product__active=True)
        .filter(~Q(product__kind=Product.Kind.STORE_ITEM) | ~Q(product__stock=0))
        .select_related("product")
        .order_by("product__kind", "product__position", "product__name")
    )


def _offer(price: Price) -> Offer:
    return Offer(
        product=price.product,
        price=Money(price.amount, price.currency),
        setup=Money(price.setup_amount, price.currency),
    )


def products_offered(
    *, currency: str, kind: str | None = None, product_ids: Iterable[int] | None = None
) -> list[Offer]:
    """Active products with a price in `currency` (store items only while in stock); of
    `kind` only, among `product_ids` only, if given."""
    prices = _offers(currency=currency)
    if kind is not None:
        prices = prices.filter(product__kind=kind)
    if product_ids is not None:
        prices = prices.filter(product_id__in=product_ids)
    return [_offer(price) for price in prices]


def prices_offered(*, currency: str, product_ids: Iterable[int]) -> dict[int, tuple[Money, Money]]:
    """The net price and setup fee (products_offered's) of each of `product_ids` offered in
    `currency`, by product id: what a quote needs, no product built (decision 0021)."""
    product_ids = sorted(set(product_ids))
    if not product_ids:
        return {}
    sql, columns = _prices_offered_query(len(product_ids))
    prices = columns.fetch(sql, [currency, Product.Kind.STORE_ITEM.value, *product_ids])
    return {
        price.product_id: (Money(price.amount, currency), Money(price.setup_amount, currency))
        for price in prices
    }


@functools.lru_cache(maxsize=32)
def _prices_offered_query(count: int) -> tuple[str, ModelColumns]:
    """Every quote reads it: written once (core/rows.py; decision 0021); _offers' filter."""
    columns = ModelColumns(Price, "pr")
    marks = ", ".join(["%s"] * count)
    sql = (
        f"SELECT {columns.select} FROM {columns.table} "  # noqa: S608 (names from the model)
        "JOIN catalog_product p ON p.id = pr.product_id "
        "WHERE pr.currency = %s AND p.active "
        "AND (p.kind <> %s OR p.stock IS NULL OR p.stock <> 0) "
        f"AND pr.product_id IN ({marks})"
    )
    return sql, columns


def offer_get(*, product_id: int, currency: str) -> Offer:
    price = _offers(currency=currency).filter(product_id=product_id).first()
    if price is None:
        raise NotFound("This product is not offered.")
    return _offer(price)


def tax_rates(*, countries: Iterable[str] | None = None) -> dict[str, Decimal]:
    """Country (ISO 3166) → VAT rate in percent; only those of `countries` when given (a
    quote needs one of the rates, not a model per country: decision 0021)."""
    wanted = sorted({country.upper() for country in countries or () if country})
    sql, columns = _tax_rates_query(len(wanted) if countries is not None else None)
    return {row.country: row.rate for row in columns.fetch(sql, wanted)}


@functools.cache
def _tax_rates_query(count: int | None) -> tuple[str, ModelColumns]:
    """Read by every quote: written once per count of countries (core/rows.py; decision
    0021); None: all of them."""
    columns = ModelColumns(TaxRate, "t")
    sql = f"SELECT {columns.select} FROM {columns.table}"  # noqa: S608 (names from the model)
    if count is not None:
        sql += f" WHERE t.country IN ({', '.join(['%s'] * count)})" if count else " WHERE 1 = 0"
    return sql, columns


@functools.cache
def _operator_profile_query() -> tuple[str, ModelColumns]:
    """Read twice by every card checkout: written once (core/rows.py; decision 0021)."""
    columns = ModelColumns(OperatorProfile, "o")
    sql = f"SELECT {columns.select} FROM {columns.table} WHERE o.id = %s"  # noqa: S608 (names from the model)
    return sql, columns


def operator_profile_get() -> OperatorProfile:
    """The operator's profile, made from the settings on first use."""
    sql, columns = _operator_profile_query()
    found = columns.fetch(sql, [OperatorProfile.SINGLETON_PK])
    if found:
        return found[0]
    try:
        with transaction.atomic():
            return OperatorProfile.objects.create(
                pk=OperatorProfile.SINGLETON_PK, legal_name=settings.BILLTONE_OPERATOR_NAME
            )
    except IntegrityError:  # made at the same moment by another request
        return OperatorProfile.objects.get(pk=OperatorProfile.SINGLETON_PK)


def credit_quick_add(*, currency: str) -> list[Money]:
    """The Manual Topup amounts the operator offers, in `currency`. They were checked in every
    accepted currency when saved; one that a currency accepted since cannot take (10.50 in
    JPY) is left out rather than failing the page."""
    amounts = []
    for part in operator_profile_get().credit_quick_add.split(","):
        try:
            amounts += quick_add_parse(part, currency=currency)
        except AmountError:
            continue
    return sorted(set(amounts))
