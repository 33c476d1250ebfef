"""The Billing panel's Auto top-up page: the settings, the recent top-ups with their status,
and the notice when auto top-up turned itself off after failures or is paused by a cap."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from billtone.accounts.decorators import billing_required
from billtone.core.errors import ValidationFailed
from billtone.core.services import Actor
from billtone.ledger.selectors import account_locale, customer_balances
from billtone.rating import topup_selectors as selectors
from billtone.rating.services import auto_top_up_settings_save
from billtone.rating.topup_forms import AutoTopUpForm
from billtone.rating.topup_input import auto_top_up_input_parse

RECENT = 10


def _initial(view: selectors.AutoTopUpView) -> dict:
    """Amounts in plain notation, which the form reads in every locale."""
    level = view.low_credit_level
    return {
        "enabled": view.enabled,
        "value": view.value.plain() if view.value else "",
        "threshold": view.threshold.plain() if view.threshold else "",
        "low_credit_level": level.plain() if level is not None else "",
    }


@billing_required
@require_http_methods(["GET", "POST"])
def auto_top_up(request):
    account = request.account
    locale = account_locale(account=account)
    view = selectors.auto_top_up_get(account=account)
    form = AutoTopUpForm(
        request.POST or None,
        initial=_initial(view),
        values=view.values_offered,
        locale=locale,
    )
    if request.method == "POST":
        form.is_valid()
        try:
            data = auto_top_up_input_parse(
                enabled=request.POST.get("enabled") in ("on", "true", "1"),
                value=request.POST.get("value", ""),
                threshold=request.POST.get("threshold", ""),
                low_credit_level=request.POST.get("low_credit_level", ""),
                currency=view.currency,
                locale=locale,
            )
            auto_top_up_settings_save(
                account=account,
                data=data,
                actor=Actor(label=request.user.get_username(), user_id=request.user.pk),
            )
        except ValidationFailed as error:
            form.add_service_errors(error.errors)
        else:
            messages.success(request, "Auto top-up settings saved.")
            return redirect("topup:auto-top-up")
    call_credit = next(b for b in customer_balances(account=account) if b.kind == "call_credit")
    context = {
        "form": form,
        "view": view,
        "locale": locale,
        "call_credit": call_credit,
        "top_ups": selectors.top_up_list(account=account)[:RECENT],
    }
    return render(request, "rating/auto_top_up.html", context)
