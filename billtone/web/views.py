from django.shortcuts import redirect, render
from django.templatetags.static import static

from billtone.accounts import selectors as account_selectors
from billtone.accounts.decorators import billing_required
from billtone.billing import selectors as billing_selectors
from billtone.ledger import selectors as ledger_selectors


@billing_required
def overview(request):
    """Figure 10.1: the entry page of the customer's billing area."""
    profile = account_selectors.billing_profile_get(account=request.account)
    balances = ledger_selectors.customer_balances(account=request.account)
    # The next bill and the call-credit forecast read once: the forecast's top-ups are paid
    # after the bills business funds pay first (issue 19 item 6).
    coming = billing_selectors.coming_get(account=request.account, count=1)
    context = {"profile": profile, "balances": balances, "coming": coming}
    return render(request, "web/overview.html", context)


def favicon(request):
    """Browsers ask for /favicon.ico on pages without a <link rel="icon"> (the admin's)."""
    return redirect(static("web/favicon.svg"))


def permission_denied(request, exception=None):
    """A member without billing rights learns who has them; anyone else gets the reason."""
    context = {"reason": str(exception or "")}
    membership = account_selectors.membership_for_user(request.user)
    if membership is not None and not membership.can_bill:
        context["member"] = membership
        context["billing_admins"] = account_selectors.billing_admin_list(account=membership.account)
    return render(request, "web/403.html", context, status=403)


def not_found(request, exception=None):
    return render(request, "web/404.html", status=404)


def server_error(request):
    return render(request, "web/500.html", status=500)
