from ninja import Query, Router

from billtone.core.schemas import Problem
from billtone.ledger import selectors
from billtone.ledger.schemas import BalancesOut, CustomerLedgerKind, StatementOut, StatementQuery

router = Router(tags=["balances"])

ERRORS = {401: Problem, 403: Problem}


@router.get("/balances", response={200: BalancesOut, **ERRORS})
def balances_get(request):
    """The account's business funds and call credit, in its billing currency."""
    account = request.auth.account
    balances = {row.kind: row for row in selectors.customer_balances(account=account)}
    return {
        "currency": account.billing_profile.currency,
        "business_funds": balances["business_funds"],
        "call_credit": balances["call_credit"],
    }


@router.get(
    "/ledger/{kind}/statement", response={200: StatementOut, 422: Problem, **ERRORS}, by_alias=True
)
def statement_get(request, kind: CustomerLedgerKind, query: Query[StatementQuery]):
    """Postings of business funds or call credit over whole days in the account's time zone,
    oldest first, each with the balance after it. At most 366 days per statement."""
    return selectors.customer_statement_get(
        account=request.auth.account,
        kind=kind,
        date_from=query.date_from,
        date_to=query.date_to,
        page=query.page,
        page_size=query.page_size,
    )
