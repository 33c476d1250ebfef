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
    billed monthly; 409 tax-rate-missing when the operator has not set up the VAT due."""
    bills = selectors.next_bills(account=request.auth.account, count=query.count)
    return [next_bill_out(bill) for bill in bills]
