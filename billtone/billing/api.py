from ninja import Query, Router

from billtone.billing import selectors
from billtone.billing.schemas import NextBillOut, NextBillQuery, next_bill_out
from billtone.core.schemas import Problem

router = Router(tags=["next bill"])

ERRORS = {401: Problem, 403: Problem, 409: Problem, 422: Problem}


@router.get("/next-bill", response={200: list[NextBillOut], **ERRORS})
def next_bill(request, query: Query[NextBillQuery]):
    """The account's next bills (`count`, default 3), as the bill run will issue them, line
    for line and cent for cent, each with how it will be paid. An empty list when nothing is
    billed monthly; 409 tax-rate-missing when the operator has not set up the VAT due. Each
    bill lists the auto top-ups expected before it (`expected_auto_top_ups`), paid after the
    bills business funds pay first."""
    account = request.auth.account
    bills, forecast = selectors.next_bills_with_forecast(account=account, count=query.count)
    top_ups = forecast.top_ups
    out, since = [], None
    for bill in bills:
        due = [t for t in top_ups if (since is None or t.on >= since) and t.on < bill.issue_date]
        out.append(next_bill_out(bill, due))
        since = bill.issue_date
    return out
