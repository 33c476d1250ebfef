"""Catalog products and inventory numbers for the telephony tests; a frozen clock and the PBX's
webhook endpoint for the cancellation and plan-change tests."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client

from billtone.catalog.models import Price, Product
from billtone.core.services import Actor
from billtone.notifications.services import WebhookEndpointInput, webhook_endpoint_save
from billtone.telephony.models import PhoneNumber
from billtone.telephony.services import numbers_import

ACTOR = Actor.system("test")
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2027, 1, 12, 10, 0, tzinfo=BERLIN)


@pytest.fixture
def frozen():
    """The clock stopped at NOW; a test moves it with `frozen.move_to(...)`."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def pbx_endpoint(db):
    return webhook_endpoint_save(
        data=WebhookEndpointInput(url="https://pbx.example/hooks", event_types=[]), actor=ACTOR
    )


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
