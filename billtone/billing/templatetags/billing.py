from django import template

from billtone.billing import selectors
from billtone.ledger.selectors import account_locale

register = template.Library()


@register.inclusion_tag("billing/_overview_card.html", takes_context=True)
def next_bill_card(context, coming: selectors.Coming | None = None) -> dict:
    """The overview's Next bill card (Figure 10.1, item 3: "Click to view all future Bills").
    `coming`: the overview's read (selectors.coming_get), shared with the call-credit card."""
    account = context["account"]
    coming = coming or selectors.coming_get(account=account, count=1)
    if coming.problem:
        return {"problem": coming.problem, "bill": None}
    bill = coming.bills[0] if coming.bills else None
    return {"bill": bill, "locale": account_locale(account=account)}
