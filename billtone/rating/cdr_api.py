"""`POST /cdrs` (operator token) and `GET /call-charges` (+ `.csv`, customer token)."""

from django.http import StreamingHttpResponse
from ninja import Body, Query, Router

from billtone.core.money import Money
from billtone.core.schemas import Problem
from billtone.rating import call_charges
from billtone.rating.authorize_http import authorization_body
from billtone.rating.cdr_schemas import (
    AuthorizeOut,
    AuthorizeQuery,
    CallChargesOut,
    CallChargesQuery,
    CdrBatchIn,
    IngestOut,
)
from billtone.rating.cdrs.records import CallRecord
from billtone.rating.services.authorize import call_authorize
from billtone.rating.services.ingest import cdrs_ingest

operator = Router(tags=["CDRs"])
router = Router(tags=["call charges"])

ERRORS = {401: Problem, 403: Problem}


@operator.post("/cdrs", response={200: IngestOut, 409: Problem, 422: Problem, **ERRORS})
def cdrs_post(request, payload: Body[CdrBatchIn]):
    """Rate a batch of up to 1,000 call records. A call id stored already is a duplicate and
    never charged again. A bad item refuses the whole batch with a 422 naming each bad item by
    its index (`3.started_at`): nothing of it is stored. Records that cannot be rated (unknown
    account or user, no rate) are stored as rejected, for the operator to fix and re-rate."""
    records = [
        CallRecord(
            call_id=item.call_id,
            account_code=item.account_code,
            source=item.source,
            destination=item.destination,
            started_at=item.started_at,
            answered_at=item.answered_at,
            billsec=item.billsec,
            disposition=item.disposition,
        )
        for item in payload
    ]
    return cdrs_ingest(records=records, source="api", actor=request.auth.actor)


@operator.get("/authorize", response={200: AuthorizeOut, 404: Problem, 422: Problem, **ERRORS})
def authorize_get(request, query: Query[AuthorizeQuery]):
    """May the account call this number now, and for at most how many seconds? An allowed
    call holds its price until its CDR arrives (matched by `call_id` when given) or the
    call's longest duration plus a grace passes. Emergency numbers are always allowed."""
    # The production server answers this route by authorize_http.authorize_app: the same
    # contract without Django's request cycle (decision 0028).
    found = call_authorize(
        account_code=query.account,
        destination=query.destination,
        user=query.user,
        call_id=query.call_id,
    )
    return authorization_body(found)


def _money(money: Money) -> dict:
    return {"amount": format(money.amount, "f"), "currency": money.currency}


@router.get("/call-charges", response={200: CallChargesOut, 422: Problem, **ERRORS}, by_alias=True)
def call_charges_get(request, query: Query[CallChargesQuery]):
    """The account's rated calls started in the period (whole days in the account's time
    zone, at most 366), newest first, with the period's totals."""
    found = call_charges.call_charges_get(
        account=request.auth.account,
        date_from=query.date_from,
        date_to=query.date_to,
        page=query.page,
        page_size=query.page_size,
    )
    return {
        "from": found.date_from.isoformat(),
        "to": found.date_to.isoformat(),
        "timezone": found.timezone,
        "currency": found.currency,
        "calls": found.calls,
        "seconds": found.seconds,
        "included_seconds": found.included_seconds,
        "cost": _money(found.cost),
        "charged": _money(found.charged),
        "items": [
            {
                "id": cdr.pk,
                "started_at": cdr.started_at,
                "source": cdr.source,
                "destination": cdr.destination_e164,
                "destination_name": cdr.destination_name,
                "billsec": cdr.billsec,
                "included_seconds": cdr.included_seconds,
                "per_minute": format(cdr.per_minute, "f"),
                "connection_fee": format(cdr.connection_fee, "f"),
                "increments": f"{cdr.initial_increment}/{cdr.subsequent_increment}",
                "cost": format(cdr.cost, "f"),
                "charged": format(cdr.charged, "f"),
                "credit_short": cdr.credit_short,
            }
            for cdr in found.items
        ],
        "page": found.page,
        "page_size": found.page_size,
        "count": found.count,
        "has_next": found.has_next,
    }


@router.get("/call-charges.csv", response={200: None, 422: Problem, **ERRORS})
def call_charges_csv(request, query: Query[CallChargesQuery]):
    """The period's rated calls as CSV, oldest first (same period rules as `/call-charges`)."""
    name, lines = call_charges.call_charges_csv(
        account=request.auth.account, date_from=query.date_from, date_to=query.date_to
    )
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
