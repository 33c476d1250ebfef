from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from billtone.accounts.decorators import billing_required
from billtone.core.errors import ApplicationError, NotFound, ValidationFailed
from billtone.core.services import Actor
from billtone.ledger.selectors import account_locale
from billtone.telephony import hooks, selectors, services
from billtone.telephony.plan_change import paid_plans, plan_change_preview, plan_changeable_check

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


@billing_required
@require_http_methods(["GET", "POST"])
def user_plan_change(request, user_id: int):
    """GET lists the paid plans the user may move to; GET with `plan` confirms, saying from
    when (the operator's policy); POST changes (or schedules) it."""
    account = request.account
    try:
        user = selectors.phone_user_get(account=account, user_id=user_id)
    except NotFound:
        raise Http404 from None
    plan_id = request.POST.get("plan") or request.GET.get("plan")
    context = {"phone_user": user, "locale": account_locale(account=account)}
    try:
        plan_changeable_check(account=account, user=user)
        if not plan_id:
            offers = [o for o in paid_plans(account=account) if o.product.pk != user.plan_id]
            return render(request, "telephony/plan_choose.html", {**context, "offers": offers})
        if not plan_id.isdigit():
            message = "Choose one of the plans offered."
            raise ValidationFailed({"plan": [message]}, detail=message)
        if request.method == "GET":
            change = plan_change_preview(account=account, user=user, plan_id=int(plan_id))
            return render(request, "telephony/plan_confirm.html", {**context, "change": change})
        actor = Actor(label=request.user.get_username(), user_id=request.user.pk)
        change = services.phone_user_plan_change(
            account=account, user_id=user.pk, plan_id=int(plan_id), actor=actor
        )
    except ApplicationError as error:
        messages.error(request, error.detail)
        return redirect(PAGE)
    if change.at_once:
        messages.success(request, f"{user} is on the {change.plan.name} plan now.")
    else:
        messages.success(
            request,
            f"{user} moves to the {change.plan.name} plan on {change.starts_on:%-d %b %Y}.",
        )
    return redirect(PAGE)
