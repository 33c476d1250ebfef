from django import template

from billtone.billing import selectors
from billtone.catalog.tax import TaxRateMissing
from billtone.ledger.selectors import account_locale

register = template.Library()


@register.inclusion_tag("billing/_overview_card.html", takes_context=True)
def next_bill_card(context) -> dict:
    """The overview's Next bill card (Figure 10.1, item 3: "Click to view all future Bills")."""
    account = context["account"]
    try:
        bills = selectors.next_bills(account=account, count=1)
    except TaxRateMissing as missing:
        return {"problem": missing.detail, "bill": None}
    return {"bill": bills[0] if bills else None, "locale": account_locale(account=account)}
