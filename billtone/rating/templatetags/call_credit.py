from django import template
from django.template.loader import render_to_string

from billtone.ledger.selectors import account_locale
from billtone.rating.forecast_selectors import CallCreditForecast, call_credit_forecast

register = template.Library()


@register.simple_tag(takes_context=True)
def call_credit_forecast_html(context, forecast: CallCreditForecast | None = None) -> str:
    """The call-credit card's forecast (issue 19 item 6), rendered for the overview to hand to
    ledger's balance cards (which know nothing of rating). `forecast`: the one that counted
    the coming bills (web's overview has billing read it); without, read here, no bills."""
    account = context["account"]
    return render_to_string(
        "rating/_forecast_card.html",
        {
            "forecast": forecast or call_credit_forecast(account=account),
            "locale": account_locale(account=account),
        },
    )
