from django import template

from billtone.banktransfers import selectors

register = template.Library()


@register.inclusion_tag("banktransfers/_overview_card.html", takes_context=True)
def payment_methods_card(context) -> dict:
    """The Payment methods card of the overview (Figure 10.1, item 2)."""
    account = context["account"]
    return {"business": selectors.business_account_get(account=account), "account": account}
