from django.shortcuts import render
from django.views.decorators.http import require_GET

from billtone.accounts.decorators import billing_required
from billtone.telephony import selectors


@billing_required
@require_GET
def users_numbers(request):
    """The account's phone users and numbers, each with its status; adding one goes through
    the basket (its pages are linked from here)."""
    account = request.account
    numbers = list(selectors.phone_numbers_list(account=account))
    context = {
        "users": list(selectors.phone_users_list(account=account)),
        "numbers": selectors.number_rows(numbers=numbers),
    }
    return render(request, "telephony/users_numbers.html", context)
