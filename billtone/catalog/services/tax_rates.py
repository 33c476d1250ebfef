"""The VAT rates the operator charges, one per country, changed by staff and audited."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from billtone.accounts import validation
from billtone.catalog.models import TaxRate
from billtone.core.errors import ValidationFailed
from billtone.core.services import Actor, audit_record, changes_between

RATE_PLACES = Decimal("0.01")


def tax_rate_clean(*, country: str, rate: Decimal, name: str = "VAT") -> dict[str, object]:
    errors: dict[str, list[str]] = {}
    try:
        country = validation.clean_country(country)
    except ValidationError as error:
        errors["country"] = error.messages
    if not isinstance(rate, Decimal) or not rate.is_finite() or not 0 <= rate < 100:
        errors["rate"] = ["Enter the rate in percent, from 0 to 99.99, such as 21.00."]
    elif rate != rate.quantize(RATE_PLACES):
        errors["rate"] = ["At most two decimals, such as 5.50."]
    name = (name or "").strip()
    if not name or len(name) > TaxRate._meta.get_field("name").max_length:
        errors["name"] = ["Enter the tax's name, such as VAT."]
    if errors:
        raise ValidationFailed(errors)
    return {"country": country, "rate": rate.quantize(RATE_PLACES), "name": name}


@transaction.atomic
def tax_rate_set(*, country: str, rate: Decimal, name: str = "VAT", actor: Actor) -> TaxRate:
    """The rate charged to customers in `country` (made or changed). Invoices already issued
    keep the rate they were issued with."""
    values = tax_rate_clean(country=country, rate=rate, name=name)
    tax_rate = TaxRate.objects.select_for_update().filter(country=values["country"]).first()
    if tax_rate is None:
        tax_rate, action, before = TaxRate(), "tax_rate.create", {}
    else:
        action, before = "tax_rate.update", {n: getattr(tax_rate, n) for n in values}
    changes = changes_between(before, values)
    if changes:
        for field, value in values.items():
            setattr(tax_rate, field, value)
        tax_rate.save()
        audit_record(actor=actor, action=action, obj=tax_rate, changes=changes)
    return tax_rate
