from django import template

from billtone.payments import selectors

register = template.Library()


@register.inclusion_tag("payments/_cards.html", takes_context=True)
def saved_cards(context) -> dict:
    """The saved cards section of the Payment methods page (Figure 10.4)."""
    return {
        "section": selectors.cards_section_get(account=context["account"]),
        "request": context.get("request"),
    }


@register.inclusion_tag("payments/_cards_summary.html", takes_context=True)
def saved_cards_summary(context) -> dict:
    """Two lines for the overview's Payment methods card: the default card, how many."""
    return {"section": selectors.cards_section_get(account=context["account"], recent=0)}
