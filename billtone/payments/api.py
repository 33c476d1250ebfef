"""/api/v1/payment-methods (saved cards) and /api/v1/payments (card charges and refunds)."""

import functools
import hashlib
import json
import uuid

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status
from ninja.pagination import paginate

from billtone.core.errors import NotFound, ValidationFailed
from billtone.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from billtone.core.money import AmountError, amount_parse
from billtone.core.pagination import PagePagination
from billtone.core.problems import CONTENT_TYPE, problem_body
from billtone.core.schemas import Problem, RowId
from billtone.payments import selectors, services
from billtone.payments.errors import CardAlreadySaved, CardDeclined, RefundFailed
from billtone.payments.models import Payment
from billtone.payments.schemas import (
    AutomaticPaymentsIn,
    AutomaticPaymentsOut,
    CardIn,
    CardOut,
    PaymentIn,
    PaymentOut,
    RefundIn,
)

router = Router()

ERRORS = {401: Problem, 403: Problem}
WRITE_ERRORS = {**ERRORS, 409: Problem, 422: Problem}
OBJECT_ERRORS = {**ERRORS, 404: Problem}
CARDS = ["payment methods"]
PAYMENTS = ["payments"]


def _with_extensions(view):
    """Declines and failed refunds as problem+json with their `failure_code` and
    `payment_id`, a card saved already with the saved card's `card_id` (RFC 9457 extension
    members)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (CardDeclined, RefundFailed, CardAlreadySaved) as error:
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


def _service_key(request: HttpRequest, kind: str) -> str:
    """The payment's idempotency key: the request's Idempotency-Key, scoped to the account
    (the Idempotency-Key store replays a caller's responses for a while; this key holds for
    ever, whoever sends it), or a new one."""
    account_id = request.auth.account.pk
    given = request.headers.get(IDEMPOTENCY_HEADER)
    if not given:
        return f"api:{account_id}:{kind}:{uuid.uuid4().hex}"
    key = f"api:{account_id}:{kind}:{given}"
    if len(key) > 255:
        key = f"api:{account_id}:{kind}:sha256:{hashlib.sha256(given.encode()).hexdigest()}"
    return key


def _declined_if_failed(payment: Payment) -> Payment:
    if payment.status == Payment.Status.FAILED:
        raise CardDeclined(
            failure_code=payment.failure_code,
            message=payment.failure_message,
            payment_id=payment.pk,
        )
    return payment


# Saved cards ------------------------------------------------------------------------------


@router.get("/payment-methods", response={200: list[CardOut], **ERRORS}, tags=CARDS)
@paginate(PagePagination)
def card_list(request):
    """The account's saved cards, default first. `expires_soon` is counted in the account's
    time zone."""
    return selectors.card_list(account=request.auth.account)


@router.post(
    "/payment-methods",
    response={201: CardOut, 402: Problem, 503: Problem, **WRITE_ERRORS},
    tags=CARDS,
)
@_with_extensions
def card_add(request, payload: CardIn):
    """Save a card: it is checked (Luhn, expiry, CVC, name), handed to the payment gateway at
    once and only the gateway's token, brand, last four digits, expiry and name are kept.

    **Production should tokenize cards client-side** (e.g. Stripe.js) so that card numbers
    never reach Billtone; sending the number here is for the sandbox gateway and test mode.
    422 names each bad field (`number`, `exp`, `cvc`, `holder_name`); a card the gateway
    refuses is a 402 `card-declined` problem with the gateway's `failure_code`. A card the
    account has saved already (the gateway's fingerprint of its number, or its brand, last
    four digits and expiry) is a 409 `card-already-saved` problem naming the saved card's
    `card_id`; nothing is kept at the gateway."""
    card = services.card_add(
        account=request.auth.account,
        number=payload.number,
        exp_month=payload.exp_month,
        exp_year=payload.exp_year,
        cvc=payload.cvc,
        holder_name=payload.holder_name,
        make_default=payload.make_default,
        actor=request.auth.actor,
    )
    return Status(201, card)


@router.get("/payment-methods/{card_id}", response={200: CardOut, **OBJECT_ERRORS}, tags=CARDS)
def card_get(request, card_id: RowId):
    return selectors.card_get(account=request.auth.account, card_id=card_id)


@router.post(
    "/payment-methods/{card_id}/default",
    response={200: CardOut, 404: Problem, **WRITE_ERRORS},
    tags=CARDS,
)
def card_set_default(request, card_id: RowId):
    """Make the card the account's default card (automatic payments charge it)."""
    return services.card_set_default(
        account=request.auth.account, card_id=card_id, actor=request.auth.actor
    )


@router.delete(
    "/payment-methods/{card_id}",
    response={200: CardOut, 404: Problem, 409: Problem, **ERRORS},
    tags=CARDS,
)
def card_remove(request, card_id: RowId):
    """Remove the card. 409 `card-in-use` while automatic payments use it (the default card
    with automatic payments on): make another card the default or turn them off first."""
    return services.card_remove(
        account=request.auth.account, card_id=card_id, actor=request.auth.actor
    )


@router.get("/automatic-payments", response={200: AutomaticPaymentsOut, **ERRORS}, tags=CARDS)
def automatic_payments_get(request):
    return _automatic_payments(request.auth.account)


@router.put(
    "/automatic-payments",
    response={200: AutomaticPaymentsOut, **WRITE_ERRORS},
    tags=CARDS,
)
def automatic_payments_put(request, payload: AutomaticPaymentsIn):
    """Let automatic payments (auto top-up, monthly bills) charge the default card, or not.
    Turning them on needs a default card that has not expired."""
    services.auto_payments_set(
        account=request.auth.account, enabled=payload.enabled, actor=request.auth.actor
    )
    return _automatic_payments(request.auth.account)


def _automatic_payments(account) -> dict:
    default = selectors.card_default_get(account=account)
    return {
        "enabled": selectors.auto_payments_enabled(account=account),
        "default_card_id": default.pk if default else None,
    }


# Payments ---------------------------------------------------------------------------------


@router.post(
    "/payments",
    response={201: PaymentOut, 402: Problem, **WRITE_ERRORS},
    tags=PAYMENTS,
)
@_with_extensions
def payment_create(request, payload: PaymentIn):
    """Charge a saved card, on session (the customer is there), to top up business funds or
    call credit. The `Idempotency-Key` header also keys the payment itself: the same key never
    charges twice.

    201 with `status` succeeded; requires_action (`next_action: authenticate`: the bank asks
    the customer to confirm, then POST /payments/{id}/confirm); or errored/pending (the outcome
    is not known yet: it is settled in the background, never charged twice). A decline is a
    402 `card-declined` problem with `failure_code` and `payment_id`."""
    account = request.auth.account
    errors: dict[str, list[str]] = {}
    try:
        amount = amount_parse(payload.amount, account.billing_profile.currency)
    except AmountError as error:
        errors["amount"] = [str(error)]
    try:
        card = selectors.card_get(account=account, card_id=payload.card_id)
    except NotFound:
        errors["card_id"] = ["No such card in this account."]
    if errors:
        raise ValidationFailed(errors)
    payment = services.card_charge(
        account=account,
        card=card,
        amount=amount,
        purpose=payload.purpose,
        on_session=True,
        idempotency_key=_service_key(request, "charge"),
        actor=request.auth.actor,
        description=payload.description,
    )
    return Status(201, _declined_if_failed(payment))


@router.get("/payments", response={200: list[PaymentOut], **ERRORS}, tags=PAYMENTS)
@paginate(PagePagination)
def payment_list(request):
    """The account's card payments and refunds, newest first."""
    return selectors.payment_list(account=request.auth.account)


@router.get("/payments/{payment_id}", response={200: PaymentOut, **OBJECT_ERRORS}, tags=PAYMENTS)
def payment_get(request, payment_id: RowId):
    return selectors.payment_get(account=request.auth.account, payment_id=payment_id)


@router.post(
    "/payments/{payment_id}/confirm",
    response={200: PaymentOut, 402: Problem, 404: Problem, 503: Problem, **WRITE_ERRORS},
    tags=PAYMENTS,
)
@_with_extensions
def payment_confirm(request, payment_id: RowId):
    """After the customer authenticated with the bank (3-D Secure): the payment's outcome. A
    settled payment answers as it is; one not waiting for authentication is a 409."""
    account = request.auth.account
    payment = selectors.payment_get(account=account, payment_id=payment_id)
    payment = services.charge_confirm(account=account, payment=payment, actor=request.auth.actor)
    return _declined_if_failed(payment)


@router.post(
    "/payments/{payment_id}/refunds",
    response={201: PaymentOut, 404: Problem, **WRITE_ERRORS},
    tags=PAYMENTS,
)
@_with_extensions
def payment_refund(request, payment_id: RowId, payload: RefundIn):
    """Give back all (no amount) or part of a succeeded card payment to its card. The money
    leaves the balance the payment credited: 409 `insufficient-funds` when it no longer holds
    it; 409 `refund-failed` (with `failure_code`) when the gateway refuses."""
    account = request.auth.account
    payment = selectors.payment_get(account=account, payment_id=payment_id)
    amount = None
    if payload.amount is not None:
        try:
            amount = amount_parse(payload.amount, payment.currency)
        except AmountError as error:
            raise ValidationFailed({"amount": [str(error)]}) from None
    refund = services.payment_refund(
        account=account,
        payment=payment,
        amount=amount,
        reason=payload.reason,
        idempotency_key=_service_key(request, f"refund:{payment.pk}"),
        actor=request.auth.actor,
    )
    if refund.status == Payment.Status.FAILED:
        raise RefundFailed(
            failure_code=refund.failure_code,
            message=refund.failure_message or "The refund could not be made.",
            payment_id=refund.pk,
        )
    return Status(201, refund)
