from django.shortcuts import render

from billtone.accounts.decorators import billing_required
from billtone.billing import selectors
from billtone.core.money import Money
from billtone.invoicing.selectors import invoices_open
from billtone.ledger.selectors import account_locale

SHOWN = 3  # bills on the page at first; "Show more" adds as many, up to MOST
MOST = 12


def _count(request) -> int:
    try:
        return min(max(int(request.GET.get("count", SHOWN)), SHOWN), MOST)
    except ValueError:
        return SHOWN


@billing_required
def next_bill(request):
    """Figure 10.3: the next bills, as the bill run will issue them, and how each is paid."""
    count = _count(request)
    coming = selectors.coming_get(account=request.account, count=count)
    context = {
        "locale": account_locale(account=request.account),
        "count": count,
        "bills": coming.bills,
        "forecast": coming.forecast,
        "problem": coming.problem,
    }
    context["more"] = len(context["bills"]) == count < MOST and min(count + SHOWN, MOST)
    context["unpaid"] = [  # bills issued and still owed: not in Next Bill, but worth a word
        (invoice, Money(invoice.gross - invoice.credited, invoice.currency))
        for invoice in invoices_open(account=request.account)
    ]
    return render(request, "billing/next_bill.html", context)
