"""Catalog products and inventory numbers for the telephony tests."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from billtone.catalog.models import Price, Product
from billtone.core.services import Actor
from billtone.telephony.models import PhoneNumber
from billtone.telephony.services import numbers_import

ACTOR = Actor.system("test")


def product_with_prices(
    *, code: str, kind: str, prices: dict[str, str], setup: str = "0", **fields
) -> Product:
    product = Product.objects.create(
        code=code, name=code.replace("-", " ").title(), kind=kind, billing="monthly", **fields
    )
    for currency, amount in prices.items():
        Price.objects.create(
            product=product,
            currency=currency,
            amount=Decimal(amount),
            setup_amount=Decimal(setup),
        )
    return product


@pytest.fixture
def payg_plan(db):
    return product_with_prices(code="pay-as-you-go", kind="plan", prices={"EUR": "0", "GBP": "0"})


@pytest.fixture
def national_plan(db):
    return product_with_prices(
        code="national",
        kind="plan",
        prices={"EUR": "12.00", "GBP": "10.00"},
        included_minutes=1000,
    )


@pytest.fixture
def nl_geographic(db):
    return product_with_prices(
        code="nl-geographic",
        kind="number",
        prices={"EUR": "3.00", "GBP": "2.50"},
        setup="5.00",
        number_country="NL",
        number_type="geographic",
    )


def numbers_add(*e164: str, country: str = "NL", number_type: str = "geographic") -> list:
    numbers_import(text="\n".join(e164), country=country, number_type=number_type, actor=ACTOR)
    return list(PhoneNumber.objects.filter(e164__in=e164).order_by("e164"))


@pytest.fixture
def number(nl_geographic):
    return numbers_add("+31201234567")[0]


@pytest.fixture
def staff(db):
    """A back-office client logged in as a superuser."""
    user = get_user_model().objects.create_superuser("operator", "op@example.com", "pw-operator")
    client = Client()
    client.force_login(user)
    return client
