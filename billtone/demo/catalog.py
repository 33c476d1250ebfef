"""The demo operator's catalog (issue 17): its profile and billing policy, plans, numbers,
call-credit packs, a desk phone and VAT rates, recorded through the catalog's services.
Safe to run again: a product is found by its code, and a value already set is not changed."""

from decimal import Decimal

from billtone.catalog.models import Product
from billtone.catalog.services import (
    OperatorProfileInput,
    ProductInput,
    operator_profile_update,
    price_set,
    product_save,
    tax_rate_set,
)
from billtone.core.money import Money
from billtone.core.services import Actor

OPERATOR = OperatorProfileInput(
    legal_name="Billtone Telecom B.V.",
    street="Herengracht 1",
    city="Amsterdam",
    postal_code="1015 BA",
    country="NL",
    vat_id="NL004495445B01",
    email="billing@billtone.example",
)

# Standard VAT rates of the EU member states (percent) and the United Kingdom's.
TAX_RATES = {
    "AT": "20", "BE": "21", "BG": "20", "CY": "19", "CZ": "21", "DE": "19", "DK": "25",
    "EE": "24", "ES": "21", "FI": "25.5", "FR": "20", "GR": "24", "HR": "25", "HU": "27",
    "IE": "23", "IT": "22", "LT": "21", "LU": "17", "LV": "21", "MT": "18", "NL": "21",
    "PL": "23", "PT": "23", "RO": "21", "SE": "25", "SI": "22", "SK": "23", "GB": "20",
}  # fmt: skip

# (code, name, included minutes, {currency: monthly fee})
PLANS = [
    ("pay-as-you-go", "Pay As You Go", 0, {"EUR": "0", "USD": "0", "GBP": "0"}),
    ("national", "National", 1000, {"EUR": "12.00", "USD": "13.00", "GBP": "10.00"}),
    ("international", "International", 500, {"EUR": "20.00", "USD": "22.00", "GBP": "17.00"}),
]
# number type → (monthly fee, setup fee), the same figures in EUR, USD and GBP
NUMBER_FEES = {
    "geographic": ("2.50", "5.00"),
    "mobile": ("4.00", "10.00"),
    "toll_free": ("8.00", "25.00"),
}
NUMBER_COUNTRIES = {"NL": "Netherlands", "DE": "Germany", "GB": "UK", "US": "US"}
CREDIT_PACKS = ["10", "20", "50", "100"]
DESK_PHONE = {"EUR": "199.00", "USD": "219.00", "GBP": "175.00"}


def _product(data: ProductInput, actor: Actor) -> Product:
    existing = Product.objects.filter(code=data.code).first()
    return product_save(data=data, product=existing, actor=actor)


def _prices(product: Product, amounts: dict[str, str], actor: Actor, setup: str = "0") -> None:
    for currency, amount in amounts.items():
        price_set(
            product=product,
            currency=currency,
            amount=Money(amount, currency),
            setup=Money(setup, currency),
            actor=actor,
        )


def demo_catalog(actor: Actor) -> None:
    operator_profile_update(data=OPERATOR, actor=actor)
    for country, rate in TAX_RATES.items():
        tax_rate_set(country=country, rate=Decimal(rate).quantize(Decimal("0.01")), actor=actor)
    for position, (code, name, minutes, fees) in enumerate(PLANS):
        data = ProductInput(code, name, "plan", included_minutes=minutes, position=position)
        _prices(_product(data, actor), fees, actor)
    position = 0
    for country, country_name in NUMBER_COUNTRIES.items():
        for number_type, (monthly, setup) in NUMBER_FEES.items():
            label = Product.NumberType(number_type).label
            data = ProductInput(
                code=f"{country.lower()}-{number_type.replace('_', '-')}",
                name=f"{country_name} {label.lower()} number",
                kind="number",
                number_country=country,
                number_type=number_type,
                position=position,
            )
            fees = dict.fromkeys(("EUR", "USD", "GBP"), monthly)
            _prices(_product(data, actor), fees, actor, setup=setup)
            position += 1
    for position, amount in enumerate(CREDIT_PACKS):
        data = ProductInput(
            f"credit-{amount}", f"Call credit {amount}", "credit_pack", position=position
        )
        _prices(_product(data, actor), dict.fromkeys(("EUR", "USD", "GBP"), amount), actor)
    phone = ProductInput("yealink-t54w", "Yealink T54W desk phone", "store_item", stock=25)
    existing = Product.objects.filter(code=phone.code).first()
    if existing is not None:  # the stock sold since is not put back
        phone = ProductInput(**{**phone.__dict__, "stock": existing.stock})
    _prices(_product(phone, actor), DESK_PHONE, actor)
