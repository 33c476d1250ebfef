from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from billtone.accounts.decorators import billing_required
from billtone.core.errors import ApplicationError, NotFound
from billtone.core.services import Actor
from billtone.telephony import hooks, selectors, services

PAGE = "telephony:users-numbers"


@billing_required
@require_GET
def users_numbers(request):
    """The account's phone users and numbers, each with its status (and the day a cancelled
    one's service ends); a banner when the account is suspended. Adding one goes through the
    basket (its pages are linked from here)."""
    account = request.account
    numbers = list(selectors.phone_numbers_list(account=account))
    context = {
        "users": list(selectors.phone_users_list(account=account)),
        "numbers": selectors.number_rows(numbers=numbers),
        "suspended": selectors.account_is_suspended(account),
    }
    return render(request, "telephony/users_numbers.html", context)


def _cancel(request, *, kind: str, item_id: int):
    """GET asks to confirm, saying when the service ends; POST cancels."""
    account = request.account
    try:
        if kind == hooks.PHONE_USER:
            item = selectors.phone_user_get(account=account, user_id=item_id)
        else:
            item = selectors.number_get(account=account, number_id=item_id)
    except NotFound:
        raise Http404 from None
    try:
        if request.method == "GET":
            cancellation = selectors.cancellation_preview(account=account, item=item)
            context = {"cancellation": cancellation, "kind": kind, "item": item}
            return render(request, "telephony/cancel.html", context)
        actor = Actor(label=request.user.get_username(), user_id=request.user.pk)
        done = services.item_cancel(
            account=account, item=hooks.CancelledItem(kind=kind, id=item_id), actor=actor
        )
    except ApplicationError as error:
        messages.error(request, error.detail)
        return redirect(PAGE)
    if done.at_once:
        messages.success(request, f"{done.name} is cancelled.")
    else:
        messages.success(
            request, f"{done.name} is cancelled: its service ends on {done.ends_on:%-d %b %Y}."
        )
    return redirect(PAGE)


@billing_required
@require_http_methods(["GET", "POST"])
def user_cancel(request, user_id: int):
    return _cancel(request, kind=hooks.PHONE_USER, item_id=user_id)


@billing_required
@require_http_methods(["GET", "POST"])
def number_cancel(request, number_id: int):
    return _cancel(request, kind=hooks.PHONE_NUMBER, item_id=number_id)
