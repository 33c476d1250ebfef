"""`POST /api/v1/invoices/{id}/pay` (and its 3-D Secure completion): an open invoice paid with
business funds or a card, as the Pay page does. The Idempotency-Key header makes the card
payment's key (the same key again: the first outcome, never a second charge)."""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema
from pydantic import StrictBool, StrictInt

from billtone.basket.schemas import NewCardIn
from billtone.billing.services.pay import InvoicePaid, invoice_pay, invoice_pay_confirm
from billtone.core.errors import ValidationFailed
from billtone.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from billtone.core.problems import CONTENT_TYPE, problem_body
from billtone.core.schemas import Problem, RowId
from billtone.payments.errors import CardDeclined

router = Router(tags=["invoices"])
ERRORS = {401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem}


class InvoicePayIn(Schema):
    """`funds` (business funds, if they cover what is due), `saved_card` (card_id) or
    `new_card` (card; kept as a saved card when save_card)."""

    model_config = {"extra": "forbid"}

    method: Literal["funds", "saved_card", "new_card"]
    card_id: StrictInt | None = Field(None, ge=1, le=2**31 - 1)
    card: NewCardIn | None = None
    save_card: StrictBool = False


class InvoicePayOut(Schema):
    invoice_id: int
    number: str
    status: Literal["paid", "requires_action", "pending"]
    invoice_status: str
    payment_id: int | None
    next_action: Literal["authenticate"] | None = Field(
        None, description="3-D Secure: then POST /invoices/{id}/pay/{payment_id}/complete"
    )

    @staticmethod
    def of(result: InvoicePaid) -> InvoicePayOut:
        if result.status == "failed":
            payment = result.payment
            raise CardDeclined(
                failure_code=payment.failure_code if payment else "",
                message=result.message,
                payment_id=payment.pk if payment else None,
            )
        return InvoicePayOut(
            invoice_id=result.invoice.pk,
            number=result.invoice.number,
            status=result.status,
            invoice_status=result.invoice.status,
            payment_id=result.payment.pk if result.payment else None,
            next_action="authenticate" if result.status == "requires_action" else None,
        )


def _with_extensions(view):
    """A decline's `failure_code` and `payment_id` as RFC 9457 extension members."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except CardDeclined as error:
            body = problem_body(
                status=error.status,
                slug=error.slug,
                title=error.title,
                detail=error.detail,
                instance=request.path,
                errors=error.errors,
            )
            body.update(error.extensions)
            return HttpResponse(json.dumps(body), status=error.status, content_type=CONTENT_TYPE)

    return wrapper


def _key(request: HttpRequest) -> str:
    given = request.headers.get(IDEMPOTENCY_HEADER)
    if not given:
        return f"api:{uuid.uuid4().hex}"
    key = f"api:{given}"
    return key if len(key) <= 100 else f"api:{hashlib.sha256(given.encode()).hexdigest()}"


@router.post(
    "/invoices/{invoice_id}/pay",
    response={200: InvoicePayOut, 402: Problem, 503: Problem, **ERRORS},
)
@_with_extensions
def invoice_pay_api(request, invoice_id: RowId, payload: InvoicePayIn):
    """Pay an open invoice. 200 with `status` paid, or requires_action (`next_action:
    authenticate`: 3-D Secure, then POST /invoices/{id}/pay/{payment_id}/complete). Refused,
    nothing paid: 409 `invoice-funds-short` (business funds do not cover it), 402
    `card-declined`, 404 for another account's invoice. A paid invoice answers paid."""
    extra = {}
    if payload.method == "saved_card":
        if payload.card_id is None:
            raise ValidationFailed({"card_id": ["Choose one of your saved cards."]})
        extra["card_id"] = payload.card_id
    elif payload.method == "new_card":
        if payload.card is None:
            raise ValidationFailed({"card": ["Give the new card."]})
        extra = {"new_card": payload.card.dict(), "save_card": payload.save_card}
    result = invoice_pay(
        account=request.auth.account,
        invoice_id=invoice_id,
        method=payload.method,
        idempotency_key=_key(request),
        actor=request.auth.actor,
        **extra,
    )
    return InvoicePayOut.of(result)


@router.post(
    "/invoices/{invoice_id}/pay/{payment_id}/complete",
    response={200: InvoicePayOut, 402: Problem, 503: Problem, **ERRORS},
)
@_with_extensions
def invoice_pay_complete_api(request, invoice_id: RowId, payment_id: RowId):
    """After the customer authenticated with the bank (3-D Secure): the payment's outcome."""
    result = invoice_pay_confirm(
        account=request.auth.account,
        invoice_id=invoice_id,
        payment_id=payment_id,
        actor=request.auth.actor,
    )
    return InvoicePayOut.of(result)
