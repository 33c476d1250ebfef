from django import template

from billtone.basket import selectors
from billtone.catalog.tax import TaxTreatment, tax_amount
from billtone.core.money import Money
from billtone.telephony.numbers import e164_display

register = template.Library()


@register.inclusion_tag("basket/_badge.html", takes_context=True)
def basket_badge(context, oob: bool = False) -> dict:
    """The basket's link in the Billing panel's header, with what its lines cost (gross);
    web/base.html includes it, and the basket's HTMX answers swap it in again (`oob`)."""
    account = context.get("account")
    request = context.get("request")
    badge = selectors.basket_badge(account=account) if account is not None else None
    return {"badge": badge, "request": request, "locale": _locale(account), "oob": oob}


def _locale(account) -> str:
    if account is None:
        return "en"
    from billtone.ledger.selectors import account_locale

    return account_locale(account=account)


@register.simple_tag
def gross_of(net: Money, tax: TaxTreatment | None, locale: str = "en") -> str:
    """A net price with the account's tax, formatted: prices are shown net and gross."""
    if tax is None:
        return "VAT not known yet"
    return (net.rounded() + tax_amount(net.rounded(), tax.rate)).format(locale)


@register.filter
def phone(e164: str) -> str:
    """A number as Users & Numbers shows it: +31 20 555 0100."""
    return e164_display(e164) if e164 else ""


@register.simple_tag
def line_label(item) -> str:
    """A basket line's description with its number formatted as people read it (the
    description itself, kept by the quote and the invoice, carries the number in E.164)."""
    return line_text(item.line) if item.line.kind == "number" else item.description


def line_text(line) -> str:
    """One basket line in words, its number (if any) formatted."""
    if line.kind == "number" and line.phone_number_id:
        return f"{line.product.name}: {e164_display(line.phone_number.e164)}"
    return selectors.line_description(line)


@register.simple_tag
def first_charge_of(item) -> Money:
    """What a monthly line charges first (prorated), without its one-off setup fee: the
    line's total is this plus the setup fee."""
    return item.total - item.setup.rounded()
