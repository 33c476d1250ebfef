"""The operator's products and their prices per currency, changed by staff in the back office
(and by the demo), each change audited. Products are never deleted (invoices and
subscriptions name them): one that is no longer sold is made inactive."""

from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from billtone.accounts import validation
from billtone.catalog.models import Price, Product
from billtone.core.errors import ValidationFailed
from billtone.core.money import Money, minor_units
from billtone.core.services import Actor, audit_record, changes_between

MONTHLY_KINDS = {Product.Kind.PLAN, Product.Kind.NUMBER}


@dataclass(frozen=True)
class ProductInput:
    code: str
    name: str
    kind: str
    included_minutes: int = 0
    number_country: str = ""
    number_type: str = ""
    stock: int | None = None
    active: bool = True
    position: int = 0


def product_clean(data: ProductInput, *, product: Product | None = None) -> dict[str, object]:
    """Every field checked at once; the billing follows the kind (plans and numbers monthly,
    packs and store items one-off), so it is never asked for. `product`: the one changed."""
    values = asdict(data)
    values["code"], values["name"] = values["code"].strip(), values["name"].strip()
    values["number_country"] = (values["number_country"] or "").strip().upper()
    values["number_type"] = values["number_type"] or ""
    errors: dict[str, list[str]] = {}
    if not values["code"] or slugify(values["code"]) != values["code"]:
        errors["code"] = ["Use lower-case letters, digits and hyphens, such as nl-geographic."]
    elif (
        Product.objects.filter(code=values["code"])
        .exclude(pk=getattr(product, "pk", None))
        .exists()
    ):
        errors["code"] = ["Another product has this code."]
    if product is not None and data.kind != product.kind:
        errors["kind"] = ["A product's kind cannot change; add a new product."]
    if not values["name"]:
        errors["name"] = ["Enter the product's name."]
    kind = values["kind"]
    if kind not in Product.Kind.values and "kind" not in errors:
        errors["kind"] = ["Choose plan, number, call-credit pack or store item."]
    if kind != Product.Kind.PLAN and values["included_minutes"]:
        errors["included_minutes"] = ["Only plans include minutes."]
    if kind == Product.Kind.NUMBER:
        try:
            values["number_country"] = validation.clean_country(values["number_country"])
        except ValidationError as error:
            errors["number_country"] = error.messages
        if values["number_type"] not in Product.NumberType.values:
            errors["number_type"] = ["Choose the type of number."]
    else:
        for name in ("number_country", "number_type"):
            if values[name]:
                errors[name] = ["Only numbers have a country and a type."]
    if kind != Product.Kind.STORE_ITEM and values["stock"] is not None:
        errors["stock"] = ["Only store items have a stock."]
    if errors:
        raise ValidationFailed(errors)
    values["billing"] = (
        Product.Billing.MONTHLY if kind in MONTHLY_KINDS else Product.Billing.ONE_OFF
    )
    return values


@transaction.atomic
def product_save(*, data: ProductInput, actor: Actor, product: Product | None = None) -> Product:
    """A new product, or `product` changed (its kind fixed once it exists: prices and sales
    were made for that kind)."""
    values = product_clean(data, product=product)
    if product is None:
        product, action, before = Product(), "product.create", {}
    else:
        product = Product.objects.select_for_update().get(pk=product.pk)
        action, before = "product.update", {name: getattr(product, name) for name in values}
    changes = changes_between(before, values)
    if changes:
        for name, value in values.items():
            setattr(product, name, value)
        product.save()
        audit_record(actor=actor, action=action, obj=product, changes=changes)
    return product


def price_clean(
    *, product: Product, currency: str, amount: Money, setup: Money | None = None
) -> dict[str, object]:
    setup = setup if setup is not None else Money.zero(currency)
    errors: dict[str, list[str]] = {}
    if currency not in settings.BILLTONE_CURRENCIES:
        accepted = ", ".join(settings.BILLTONE_CURRENCIES)
        errors["currency"] = [f"Choose one of the currencies this operator accepts: {accepted}."]
    for name, money in (("amount", amount), ("setup_amount", setup)):
        if money.currency != currency:
            errors[name] = [f"Enter the amount in {currency}."]
        elif money.amount < 0:
            errors[name] = ["A price is zero or more."]
        elif money != money.rounded():
            errors[name] = [f"{currency} amounts have at most {minor_units(currency)} decimals."]
    if product.kind != Product.Kind.NUMBER and "setup_amount" not in errors and setup.amount:
        errors["setup_amount"] = ["Only numbers have a setup fee."]
    if errors:
        raise ValidationFailed(errors)
    return {"amount": amount.amount, "setup_amount": setup.amount}


@transaction.atomic
def price_set(
    *, product: Product, currency: str, amount: Money, setup: Money | None = None, actor: Actor
) -> Price:
    """The product's net price in `currency` (made or changed): the monthly fee of a monthly
    product, the price of a one-off one; `setup` the number's one-off setup fee."""
    values = price_clean(product=product, currency=currency, amount=amount, setup=setup)
    price = Price.objects.select_for_update().filter(product=product, currency=currency).first()
    if price is None:
        price, action, before = Price(product=product, currency=currency), "price.create", {}
    else:
        action, before = "price.update", {name: getattr(price, name) for name in values}
    changes = changes_between(before, values)
    if changes:
        for name, value in values.items():
            setattr(price, name, value)
        price.save()
        audit_record(actor=actor, action=action, obj=price, changes=changes)
    return price


@transaction.atomic
def price_remove(*, product: Product, currency: str, actor: Actor) -> None:
    """The product is no longer offered in `currency`."""
    price = Price.objects.select_for_update().filter(product=product, currency=currency).first()
    if price is None:
        return
    audit_record(
        actor=actor,
        action="price.remove",
        obj=price,
        changes={
            "amount": [str(price.amount), None],
            "setup_amount": [str(price.setup_amount), None],
        },
    )
    price.delete()
