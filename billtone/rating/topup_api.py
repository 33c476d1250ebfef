"""`GET/PUT /api/v1/auto-top-up` and `GET /api/v1/top-ups`: the account's own, as the page."""

from ninja import Router
from ninja.pagination import paginate

from billtone.core.pagination import PagePagination
from billtone.core.schemas import Problem, RowId
from billtone.rating import topup_selectors as selectors
from billtone.rating.services import auto_top_up_settings_save
from billtone.rating.topup_input import auto_top_up_input_parse
from billtone.rating.topup_schemas import AutoTopUpIn, AutoTopUpOut, TopUpOut

router = Router(tags=["auto top-up"])
ERRORS = {401: Problem, 403: Problem}
WRITE_ERRORS = {**ERRORS, 409: Problem, 422: Problem}


@router.get("/auto-top-up", response={200: AutoTopUpOut, **ERRORS})
def auto_top_up_get(request):
    """The auto top-up settings, the values the operator offers, and why auto top-up is
    off (turned off after failures) or paused (an operator's cap), if it is."""
    return AutoTopUpOut.of(selectors.auto_top_up_get(account=request.auth.account))


@router.put("/auto-top-up", response={200: AutoTopUpOut, **WRITE_ERRORS})
def auto_top_up_put(request, payload: AutoTopUpIn):
    """Save the settings (all checked first: a value not offered is a 422 naming the values
    offered, and nothing changes). Turning auto top-up on checks the credit at once. PUT is
    idempotent: the same body again changes nothing."""
    account = request.auth.account
    data = auto_top_up_input_parse(
        enabled=payload.enabled,
        value=payload.value,
        threshold=payload.threshold,
        low_credit_level=payload.low_credit_level,
        currency=account.billing_profile.currency,
    )
    auto_top_up_settings_save(account=account, data=data, actor=request.auth.actor)
    return AutoTopUpOut.of(selectors.auto_top_up_get(account=account))


@router.get("/top-ups", response={200: list[TopUpOut], **ERRORS})
@paginate(PagePagination)
def top_up_list(request):
    """The account's auto top-ups, newest first, with status, payment and invoice."""
    return selectors.top_up_list(account=request.auth.account)


@router.get("/top-ups/{top_up_id}", response={200: TopUpOut, 404: Problem, **ERRORS})
def top_up_get(request, top_up_id: RowId):
    return selectors.top_up_get(account=request.auth.account, top_up_id=top_up_id)
