from ninja import Router
from ninja.pagination import paginate

from billtone.core.pagination import PagePagination
from billtone.core.schemas import Problem, RowId
from billtone.telephony import hooks, selectors, services
from billtone.telephony.schemas import (
    CancellationOut,
    PhoneNumberOut,
    PhoneUserOut,
    PlanChangeIn,
    PlanChangeOut,
)

router = Router(tags=["users and numbers"])

ERRORS = {401: Problem, 403: Problem}
CANCEL_ERRORS = {404: Problem, 409: Problem, **ERRORS}


@router.get("/phone-users", response={200: list[PhoneUserOut], **ERRORS})
@paginate(PagePagination)
def phone_user_list(request, include_cancelled: bool = False):
    """The account's phone users by extension; cancelled ones with `include_cancelled`. New
    users are added through the basket (`/api/v1/basket`)."""
    return selectors.phone_users_list(
        account=request.auth.account, include_cancelled=include_cancelled
    )


@router.get("/phone-users/{user_id}", response={200: PhoneUserOut, 404: Problem, **ERRORS})
def phone_user_get(request, user_id: RowId):
    return selectors.phone_user_get(account=request.auth.account, user_id=user_id)


@router.get("/phone-users/{user_id}/cancellation", response={200: CancellationOut, **CANCEL_ERRORS})
def phone_user_cancellation(request, user_id: RowId):
    """What cancelling the user now would do: the day its service would end. 409
    `not-cancellable` when it waits for payment in the basket or is cancelled already."""
    user = selectors.phone_user_get(account=request.auth.account, user_id=user_id)
    return selectors.cancellation_preview(account=request.auth.account, item=user)


@router.delete("/phone-users/{user_id}", response={200: CancellationOut, **CANCEL_ERRORS})
def phone_user_cancel(request, user_id: RowId):
    """Cancel an active (or suspended) user: at once when its service ends today, otherwise
    at the end of the period already billed (`ends_on`; the user shows `cancels_on` until
    then). 409 `not-cancellable`: waiting for payment (remove it from the basket instead) or
    cancelled already."""
    item = hooks.CancelledItem(kind=hooks.PHONE_USER, id=user_id)
    return services.item_cancel(account=request.auth.account, item=item, actor=request.auth.actor)


@router.post(
    "/phone-users/{user_id}/plan", response={200: PlanChangeOut, 422: Problem, **CANCEL_ERRORS}
)
def phone_user_plan_change(request, user_id: RowId, data: PlanChangeIn):
    """Move an active user to another paid plan offered in your currency, from when the
    operator's plan-change policy says (`starts_on`: the next period by default, or today
    with the unused days credited). 422 for a plan not offered (or free) or the user's own;
    409 `plan-not-changeable`: not active, cancelled, a change already scheduled, or on Pay
    As You Go (add a new user on a paid plan instead)."""
    return services.phone_user_plan_change(
        account=request.auth.account,
        user_id=user_id,
        plan_id=data.product_id,
        actor=request.auth.actor,
    )


@router.get("/phone-numbers", response={200: list[PhoneNumberOut], **ERRORS})
@paginate(PagePagination)
def phone_number_list(request):
    """The numbers the account has (assigned, or suspended with its service) or holds in its
    basket (held)."""
    return selectors.phone_numbers_list(account=request.auth.account)


@router.get("/phone-numbers/{number_id}", response={200: PhoneNumberOut, 404: Problem, **ERRORS})
def phone_number_get(request, number_id: RowId):
    return selectors.number_get(account=request.auth.account, number_id=number_id)


@router.get(
    "/phone-numbers/{number_id}/cancellation", response={200: CancellationOut, **CANCEL_ERRORS}
)
def phone_number_cancellation(request, number_id: RowId):
    """What cancelling the number now would do: the day its service would end."""
    number = selectors.number_get(account=request.auth.account, number_id=number_id)
    return selectors.cancellation_preview(account=request.auth.account, item=number)


@router.delete("/phone-numbers/{number_id}", response={200: CancellationOut, **CANCEL_ERRORS})
def phone_number_cancel(request, number_id: RowId):
    """Cancel an assigned (or suspended) number: at once when its service ends today (back
    to the operator's inventory), otherwise at the end of the period already billed. 409
    `not-cancellable`: held in the basket (remove it there) or cancelled already."""
    item = hooks.CancelledItem(kind=hooks.PHONE_NUMBER, id=number_id)
    return services.item_cancel(account=request.auth.account, item=item, actor=request.auth.actor)
