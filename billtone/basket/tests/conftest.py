"""A small shop for the basket's tests: the operator in the Netherlands, VAT rates, a paid and
a free plan, a Dutch number product with two numbers in the inventory, call-credit packs and a
desk phone in stock; a customer billed in Germany (19 % VAT) and money to pay with."""

import itertools
from dataclasses import dataclass
from decimal import Decimal

import pytest

from billtone.accounts.models import Account
from billtone.basket import services
from billtone.catalog.models import OperatorProfile, Price, Product, TaxRate
from billtone.catalog.selectors import operator_profile_get
from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.ledger.models import LedgerKind
from billtone.ledger.services import (
    customer_ledger_accounts,
    funds_transfer,
    operator_ledger_account,
)
from billtone.telephony.models import PhoneNumber
from billtone.telephony.services import numbers_import

ACTOR = Actor.system("test")
_funding = itertools.count(1)


def product(code: str, kind: str, prices: dict[str, str], setup: str = "0", **fields) -> Product:
    billing = "monthly" if kind in ("plan", "number") else "one_off"
    item = Product.objects.create(
        code=code, name=code.replace("-", " ").title(), kind=kind, billing=billing, **fields
    )
    for currency, amount in prices.items():
        Price.objects.create(
            product=item, currency=currency, amount=Decimal(amount), setup_amount=Decimal(setup)
        )
    return item


@dataclass
class Shop:
    national: Product
    payg: Product
    nl_number: Product
    pack10: Product
    pack20: Product
    phone: Product
    gbp_only: Product
    numbers: list[PhoneNumber]


@pytest.fixture
def shop(db) -> Shop:
    operator_profile_get()
    OperatorProfile.objects.update(country="NL", vat_id="NL004495445B01", cut_off_day=19)
    TaxRate.objects.create(country="NL", rate=Decimal("21.00"))
    TaxRate.objects.create(country="DE", rate=Decimal("19.00"))
    nl_number = product(
        "nl-geographic",
        "number",
        {"EUR": "3.00", "GBP": "2.50"},
        setup="5.00",
        number_country="NL",
        number_type="geographic",
    )
    numbers_import(
        text="+31201234567\n+31201234568", country="NL", number_type="geographic", actor=ACTOR
    )
    return Shop(
        national=product(
            "national", "plan", {"EUR": "12.00", "GBP": "10.00"}, included_minutes=1000
        ),
        payg=product("pay-as-you-go", "plan", {"EUR": "0", "GBP": "0"}),
        nl_number=nl_number,
        pack10=product("credit-10", "credit_pack", {"EUR": "10.00"}),
        pack20=product("credit-20", "credit_pack", {"EUR": "20.00"}),
        phone=product("yealink-t54w", "store_item", {"EUR": "150.00"}, stock=3),
        gbp_only=product("uk-only", "store_item", {"GBP": "9.00"}, stock=None),
        numbers=list(PhoneNumber.objects.order_by("e164")),
    )


@pytest.fixture
def customer(german, shop):
    """Acme, billed in Germany (EUR, 19 % VAT), with the shop set up."""
    return Account.objects.select_related("billing_profile").get(pk=german.pk)


def fund(account, amount: str) -> None:
    """Business funds arrive by bank transfer."""
    currency = account.billing_profile.currency
    funds_transfer(
        source=operator_ledger_account(kind=LedgerKind.BANK_CLEARING, currency=currency),
        destination=customer_ledger_accounts(account=account).business_funds,
        amount=Money(amount, currency),
        kind="bank_transfer",
        memo="Bank transfer",
        idempotency_key=f"test-fund:{next(_funding)}",
        actor=ACTOR,
    )


def fill(account, shop: Shop, *, number: int = 0, packs: int = 2) -> None:
    """A user on the National plan, a number, call credit and a desk phone."""
    services.basket_user_add(
        account=account,
        name="Ada Lovelace",
        email="ada@acme.example",
        extension="201",
        plan_id=shop.national.pk,
        actor=ACTOR,
    )
    services.basket_number_add(account=account, number_id=shop.numbers[number].pk, actor=ACTOR)
    services.basket_item_add(
        account=account, product_id=shop.pack10.pk, quantity=packs, actor=ACTOR
    )
    services.basket_item_add(account=account, product_id=shop.phone.pk, quantity=1, actor=ACTOR)
