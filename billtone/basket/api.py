"""/api/v1/basket (the basket and its lines) and /api/v1/checkout (paying it)."""

import functools
import hashlib
import json
import uuid

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from billtone.basket import selectors, services
from billtone.basket.errors import QuoteChanged, Shortfall
from billtone.basket.schemas import BasketLineIn, BasketOut, CheckoutIn, CheckoutOut, QuantityIn
from billtone.core.errors import ValidationFailed
from billtone.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from billtone.core.problems import CONTENT_TYPE, problem_body
from billtone.core.schemas import Problem, RowId
from billtone.payments.errors import CardAlreadySaved, CardDeclined

router = Router(tags=["basket"])

ERRORS = {401: Problem, 403: Problem}
WRITE_ERRORS = {**ERRORS, 404: Problem, 409: Problem, 422: Problem}


def _with_extensions(view):
    """Refusals with more to say as RFC 9457 extension members: a shortfall's `shortfall`
    and `currency`, a changed quote's `changes`, a decline's `failure_code` and
    `checkout_id`."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (Shortfall, QuoteChanged, CardDeclined, CardAlreadySaved) as error:
            body = problem_body(
                status=error.status,
                slug=error.slug,
                title=error.title,
                detail=error.detail,
                instance=request.path,
                errors=error.errors,
            )
            body.update(error.extensions)
            if getattr(error, "checkout_id", None) is not None:
                body["checkout_id"] = error.checkout_id
            return HttpResponse(json.dumps(body), status=error.status, content_type=CONTENT_TYPE)

    return wrapper


def _basket(request) -> dict:
    return BasketOut.from_view(selectors.basket_quote_get(account=request.auth.account))


@router.get("/basket", response={200: BasketOut, **ERRORS})
def basket_get(request):
    """The basket priced now: each line with what it is billed for, the totals, and the
    `quote_token` to send with POST /checkout."""
    return _basket(request)


@router.post("/basket/lines", response={201: BasketOut, **WRITE_ERRORS})
def basket_line_add(request, payload: BasketLineIn):
    """Add to the basket. A user on a plan without a fee (Pay As You Go) is active at once
    and adds no line. 409 `number-unavailable` for a number someone else holds; 422 for a
    product not sold in the account's currency or a quantity below 1."""
    account, actor = request.auth.account, request.auth.actor
    if payload.kind == "plan":
        services.basket_user_add(
            account=account,
            name=payload.name,
            email=payload.email,
            extension=payload.extension,
            plan_id=payload.product_id,
            actor=actor,
        )
    elif payload.kind == "number":
        if payload.number_id is None:
            raise ValidationFailed({"number_id": ["Choose a number."]})
        services.basket_number_add(account=account, number_id=payload.number_id, actor=actor)
    else:
        services.basket_item_add(
            account=account,
            product_id=payload.product_id,
            quantity=payload.quantity,
            actor=actor,
            kind=payload.kind,
        )
    return Status(201, _basket(request))


@router.patch("/basket/lines/{line_id}", response={200: BasketOut, **WRITE_ERRORS})
def basket_line_update(request, line_id: RowId, payload: QuantityIn):
    """Change the quantity of call credit or a store item (1 or more)."""
    services.basket_line_quantity_set(
        account=request.auth.account,
        line_id=line_id,
        quantity=payload.quantity,
        actor=request.auth.actor,
    )
    return _basket(request)


@router.delete("/basket/lines/{line_id}", response={200: BasketOut, **WRITE_ERRORS})
def basket_line_delete(request, line_id: RowId):
    """Take a line out: a number is released, a user waiting for payment discarded."""
    services.basket_line_remove(
        account=request.auth.account, line_id=line_id, actor=request.auth.actor
    )
    return _basket(request)


@router.delete("/basket/products/{product_id}", response={200: BasketOut, **WRITE_ERRORS})
def basket_product_delete(request, product_id: RowId):
    """Take out every line of a product (the page's bin)."""
    services.basket_product_remove(
        account=request.auth.account, product_id=product_id, actor=request.auth.actor
    )
    return _basket(request)


@router.delete("/basket", response={200: BasketOut, **ERRORS})
def basket_delete(request):
    """Empty the basket."""
    services.basket_empty(account=request.auth.account, actor=request.auth.actor)
    return _basket(request)


def _service_key(request: HttpRequest) -> str:
    """The checkout's key: the request's Idempotency-Key (the checkout is unique per account
    and key, for ever), or a new one."""
    given = request.headers.get(IDEMPOTENCY_HEADER)
    if not given:
        return f"api:{uuid.uuid4().hex}"
    key = f"api:{given}"
    return key if len(key) <= 255 else f"api:sha256:{hashlib.sha256(given.encode()).hexdigest()}"


@router.post(
    "/checkout",
    response={201: CheckoutOut, 402: Problem, **WRITE_ERRORS},
    tags=["checkout"],
)
@_with_extensions
def checkout_create(request, payload: CheckoutIn):
    """Pay the basket. 201 with `status` completed (`invoice_id`), or awaiting_payment
    (`next_action: authenticate`: 3-D Secure, then POST /checkouts/{id}/complete). Refused,
    nothing paid or allocated: 409 `insufficient-funds` (with `shortfall`: add it by bank
    transfer, POST /bank-transfers), 409 `quote-changed` (with `changes`) when `quote_token`
    is not the basket's any more, 409 `basket-empty` / `basket-not-payable` / `hold-lapsed`,
    402 `card-declined` (with `failure_code` and `checkout_id`)."""
    account, actor = request.auth.account, request.auth.actor
    common = {
        "account": account,
        "idempotency_key": _service_key(request),
        "actor": actor,
        "quote_token_shown": payload.quote_token,
    }
    if payload.method == "funds":
        checkout = services.checkout_with_funds(**common)
    elif payload.method == "saved_card":
        if payload.card_id is None:
            raise ValidationFailed({"card_id": ["Choose one of your saved cards."]})
        checkout = services.checkout_with_card(card_id=payload.card_id, **common)
    else:
        if payload.card is None:
            raise ValidationFailed({"card": ["Give the new card."]})
        checkout = services.checkout_with_card(
            new_card=payload.card.dict(), save_card=payload.save_card, **common
        )
    return Status(201, CheckoutOut.from_checkout(_declined_if_failed(checkout)))


def _declined_if_failed(checkout):
    """A decline is a 402; a checkout refused after its card payment succeeded answers as it
    is (status failed: its message says the money is in business funds)."""
    payment = checkout.payment
    if checkout.status == "failed" and payment is not None and payment.status == "failed":
        error = CardDeclined(
            failure_code=payment.failure_code,
            message=checkout.failure_message,
            payment_id=checkout.payment_id,
        )
        error.checkout_id = checkout.pk
        raise error
    return checkout


@router.get(
    "/checkouts/{checkout_id}",
    response={200: CheckoutOut, 404: Problem, **ERRORS},
    tags=["checkout"],
)
def checkout_get(request, checkout_id: RowId):
    return CheckoutOut.from_checkout(
        selectors.checkout_get(account=request.auth.account, checkout_id=checkout_id)
    )


@router.post(
    "/checkouts/{checkout_id}/complete",
    response={200: CheckoutOut, 402: Problem, 503: Problem, **WRITE_ERRORS},
    tags=["checkout"],
)
@_with_extensions
def checkout_complete(request, checkout_id: RowId):
    """After the customer authenticated with the bank (3-D Secure): the checkout's outcome.
    A settled checkout answers as it is."""
    checkout = services.checkout_complete(
        account=request.auth.account, checkout_id=checkout_id, actor=request.auth.actor
    )
    return CheckoutOut.from_checkout(_declined_if_failed(checkout))
