from django import template
from django.template.loader import render_to_string

from billtone.ledger.selectors import account_locale
from billtone.rating.forecast_selectors import call_credit_forecast

register = template.Library()


@register.simple_tag(takes_context=True)
def call_credit_forecast_html(context) -> str:
    """The call-credit card's forecast (issue 19 item 6), rendered for the overview to hand to
    ledger's balance cards (which know nothing of rating)."""
    account = context["account"]
    return render_to_string(
        "rating/_forecast_card.html",
        {
            "forecast": call_credit_forecast(account=account),
            "locale": account_locale(account=account),
        },
    )
