"""What the catalog offers in a currency, the VAT rates and the operator's profile."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from billtone.catalog.models import OperatorProfile, Price, Product, TaxRate
from billtone.catalog.selectors import (
    credit_quick_add,
    offer_get,
    operator_profile_get,
    products_offered,
    tax_rates,
)
from billtone.core.errors import NotFound
from billtone.core.money import Money


def product(code: str, kind: str = "plan", **fields) -> Product:
    billing = "monthly" if kind in ("plan", "number") else "one_off"
    return Product.objects.create(
        code=code, name=code.title(), kind=kind, billing=billing, **fields
    )


def price(item: Product, currency: str, amount: str, setup: str = "0") -> Price:
    return Price.objects.create(
        product=item, currency=currency, amount=Decimal(amount), setup_amount=Decimal(setup)
    )


@pytest.fixture
def catalog(db):
    national = product("national", included_minutes=1000, position=2)
    price(national, "EUR", "12.00")
    price(national, "USD", "13.00")
    payg = product("payg", position=1)
    price(payg, "EUR", "0")
    retired = product("retired", active=False)
    price(retired, "EUR", "5.00")
    nl = product("nl-geo", "number", number_country="NL", number_type="geographic")
    price(nl, "EUR", "2.50", setup="5.00")
    phone = product("desk-phone", "store_item", stock=0)
    price(phone, "EUR", "199.00")
    pack = product("credit-10", "credit_pack")
    price(pack, "EUR", "10.00")
    return {"national": national, "payg": payg, "retired": retired, "nl": nl, "phone": phone}


def test_products_offered_are_active_priced_in_the_currency_and_in_stock(catalog):
    offered = products_offered(currency="EUR")
    assert [o.product.code for o in offered] == ["credit-10", "nl-geo", "payg", "national"]
    number = next(o for o in offered if o.product.code == "nl-geo")
    assert (number.price, number.setup) == (Money("2.50", "EUR"), Money("5.00", "EUR"))
    assert [o.product.code for o in products_offered(currency="USD")] == ["national"]
    assert products_offered(currency="GBP") == []
    assert [o.product.code for o in products_offered(currency="EUR", kind="plan")] == [
        "payg",
        "national",
    ]


def test_a_store_item_is_offered_while_in_stock_or_not_counted(catalog):
    Product.objects.filter(pk=catalog["phone"].pk).update(stock=3)
    assert [o.product.code for o in products_offered(currency="EUR", kind="store_item")] == [
        "desk-phone"
    ]
    Product.objects.filter(pk=catalog["phone"].pk).update(stock=None)
    assert len(products_offered(currency="EUR", kind="store_item")) == 1


def test_offer_get_only_what_is_offered(catalog):
    offer = offer_get(product_id=catalog["national"].pk, currency="USD")
    assert offer.price == Money("13.00", "USD") and offer.setup == Money("0", "USD")
    for product_id, currency in [
        (catalog["national"].pk, "GBP"),
        (catalog["retired"].pk, "EUR"),
        (catalog["phone"].pk, "EUR"),
        (999999, "EUR"),
    ]:
        with pytest.raises(NotFound):
            offer_get(product_id=product_id, currency=currency)


def test_tax_rates_by_country(db):
    TaxRate.objects.create(country="NL", rate=Decimal("21.00"))
    TaxRate.objects.create(country="DE", rate=Decimal("19.00"))
    assert tax_rates() == {"NL": Decimal("21.00"), "DE": Decimal("19.00")}
    assert tax_rates(countries=["nl", "", "FR"]) == {"NL": Decimal("21.00")}  # a quote's
    assert tax_rates(countries=[""]) == {}


def test_operator_profile_is_made_once_from_the_settings(db, settings):
    settings.BILLTONE_OPERATOR_NAME = "Tele Example B.V."
    profile = operator_profile_get()
    assert (profile.pk, profile.legal_name, profile.cut_off_day) == (1, "Tele Example B.V.", 19)
    assert profile.number_hold_minutes == 30
    assert operator_profile_get().pk == 1 and OperatorProfile.objects.count() == 1
    assert credit_quick_add(currency="EUR") == [Money(v, "EUR") for v in ("10", "20", "50", "100")]


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "plan", "billing": "one_off"},
        {"kind": "credit_pack", "billing": "monthly"},
        {"kind": "number", "billing": "monthly"},  # no country or type
        {"kind": "plan", "billing": "monthly", "number_country": "NL"},
        {"kind": "credit_pack", "billing": "one_off", "included_minutes": 10},
        {"kind": "plan", "billing": "monthly", "stock": 5},
    ],
)
def test_constraints_keep_kind_billing_and_fields_consistent(db, fields):
    with pytest.raises(IntegrityError):
        Product.objects.create(code="bad", name="Bad", **fields)


def test_constraints_on_prices_and_the_single_profile(catalog):
    with pytest.raises(IntegrityError), transaction.atomic():
        price(catalog["payg"], "EUR", "1.00")  # one price per currency
    with pytest.raises(IntegrityError), transaction.atomic():
        OperatorProfile.objects.create(pk=2)


def test_quick_add_amounts_a_currency_cannot_take_are_left_out(db):
    OperatorProfile.objects.filter(pk=operator_profile_get().pk).update(
        credit_quick_add="10.50,20,50"
    )
    assert credit_quick_add(currency="JPY") == [Money("20", "JPY"), Money("50", "JPY")]
    assert credit_quick_add(currency="EUR")[0] == Money("10.50", "EUR")
