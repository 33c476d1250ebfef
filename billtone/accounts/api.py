from ninja import Router, Status
from ninja.pagination import paginate

from billtone.accounts import selectors, services
from billtone.accounts.schemas import (
    AccountOut,
    ApiTokenCreated,
    ApiTokenIn,
    ApiTokenOut,
    BillingProfileIn,
    BillingProfileOut,
)
from billtone.core.pagination import PagePagination
from billtone.core.schemas import Problem, RowId

router = Router(tags=["billing profile"])
tokens = Router(tags=["API tokens"])
operator = Router(tags=["operator"])

ERRORS = {401: Problem, 403: Problem}
WRITE_ERRORS = {**ERRORS, 409: Problem, 422: Problem}


@router.get("/billing-profile", response={200: BillingProfileOut, **ERRORS})
def billing_profile_get(request):
    return selectors.billing_profile_as_loaded(account=request.auth.account)


@router.put("/billing-profile", response={200: BillingProfileOut, **WRITE_ERRORS})
def billing_profile_put(request, payload: BillingProfileIn):
    """Replace the billing profile. Every change is written to the audit log."""
    return services.billing_profile_update(
        account=request.auth.account,
        actor=request.auth.actor,
        data=services.BillingProfileInput(**payload.dict()),
    )


@tokens.get("/api-tokens", response={200: list[ApiTokenOut], **ERRORS})
@paginate(PagePagination)
def api_token_list(request):
    return selectors.api_token_list(account=request.auth.account)


@tokens.post("/api-tokens", response={201: ApiTokenCreated, **WRITE_ERRORS})
def api_token_create(request, payload: ApiTokenIn):
    """Create a token for this account. The secret is in this response only."""
    issued = services.api_token_create(
        membership=request.auth.membership, name=payload.name, actor=request.auth.actor
    )
    issued.token.secret = issued.secret
    return Status(201, issued.token)


@tokens.get("/api-tokens/{token_id}", response={200: ApiTokenOut, 404: Problem, **ERRORS})
def api_token_get(request, token_id: RowId):
    return selectors.api_token_get(account=request.auth.account, token_id=token_id)


@tokens.delete("/api-tokens/{token_id}", response={200: ApiTokenOut, 404: Problem, **ERRORS})
def api_token_revoke(request, token_id: RowId):
    """Revoke a token: it stops working at once."""
    return services.api_token_revoke(
        account=request.auth.account, token_id=token_id, actor=request.auth.actor
    )


@operator.get("/operator/accounts", response={200: list[AccountOut], **ERRORS})
@paginate(PagePagination)
def operator_account_list(request):
    return selectors.account_list()


@operator.get("/operator/accounts/{account_id}", response={200: AccountOut, 404: Problem, **ERRORS})
def operator_account_get(request, account_id: RowId):
    return selectors.account_get(account_id=account_id)
