"""The Billing panel's Call charges page and its CSV export."""

from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render

from billtone.accounts.decorators import billing_required
from billtone.core.errors import ValidationFailed
from billtone.ledger.forms import StatementFilterForm
from billtone.ledger.selectors import account_locale
from billtone.rating import call_charges

PAGE_SIZE = 50


def _period_form(request) -> StatementFilterForm:
    return StatementFilterForm(request.GET or None)


@billing_required
def charges(request):
    """Rated calls in a period (default: this month so far), totals first."""
    form = _period_form(request)
    found = None
    if form.is_valid() or not request.GET:
        data = form.cleaned_data if request.GET else {}
        try:
            found = call_charges.call_charges_get(
                account=request.account,
                date_from=data.get("date_from"),
                date_to=data.get("date_to"),
                page=data.get("page") or 1,
                page_size=PAGE_SIZE,
            )
        except ValidationFailed as error:
            form.add_period_errors(error.errors)
    template = "rating/_call_charges.html" if request.htmx else "rating/call_charges.html"
    locale = account_locale(account=request.account)
    return render(request, template, {"form": form, "charges": found, "locale": locale})


@billing_required
def charges_csv(request):
    form = _period_form(request)
    if request.GET and not form.is_valid():
        return HttpResponseBadRequest("Choose a valid period.", content_type="text/plain")
    data = form.cleaned_data if request.GET else {}
    try:
        name, lines = call_charges.call_charges_csv(
            account=request.account, date_from=data.get("date_from"), date_to=data.get("date_to")
        )
    except ValidationFailed as error:
        text = " ".join(m for messages in error.errors.values() for m in messages)
        return HttpResponseBadRequest(text, content_type="text/plain")
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
