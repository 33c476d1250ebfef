from django.http import Http404
from django.shortcuts import render

from billtone.accounts.decorators import billing_required
from billtone.core.errors import ValidationFailed
from billtone.ledger import selectors
from billtone.ledger.forms import StatementFilterForm
from billtone.ledger.models import CUSTOMER_KINDS

PAGE_SIZE = 50


@billing_required
def balances(request, kind: str = "business_funds"):
    """Business funds and call credit, and the statement of one of them."""
    if kind not in CUSTOMER_KINDS:
        raise Http404
    form = StatementFilterForm(request.GET or None)
    statement = None
    if form.is_valid() or not request.GET:
        data = form.cleaned_data if request.GET else {}
        try:
            statement = selectors.customer_statement_get(
                account=request.account,
                kind=kind,
                date_from=data.get("date_from"),
                date_to=data.get("date_to"),
                page=data.get("page") or 1,
                page_size=PAGE_SIZE,
            )
        except ValidationFailed as error:
            form.add_period_errors(error.errors)
    context = {
        "balances": selectors.customer_balances(account=request.account),
        "kind": kind,
        "form": form,
        "statement": statement,
        "locale": selectors.account_locale(account=request.account),
    }
    template = "ledger/_statement.html" if request.htmx else "ledger/balances.html"
    return render(request, template, context)
