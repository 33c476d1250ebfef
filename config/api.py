"""The JSON API: one NinjaAPI under /api/v1, one router per app, one error shape."""

import json
import logging

from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from billtone.accounts.api import operator as accounts_operator_router
from billtone.accounts.api import router as accounts_router
from billtone.accounts.api import tokens as accounts_tokens_router
from billtone.accounts.auth import CustomerTokenAuth, OperatorTokenAuth
from billtone.banktransfers.api import router as banktransfers_router
from billtone.basket.api import router as basket_router
from billtone.billing.api import router as billing_router
from billtone.billing.pay_api import router as billing_pay_router
from billtone.core import idempotency
from billtone.core.api import router as core_router
from billtone.core.errors import ApplicationError
from billtone.core.problems import (
    CONTENT_TYPE,
    openapi_document_problems,
    problem_from_error,
    problem_response,
    request_refused_body,
    validation_errors,
)
from billtone.core.schemas import NO_SUCH_ROW, ExactJsonParser
from billtone.invoicing.api import router as invoicing_router
from billtone.ledger.api import router as ledger_router
from billtone.payments.api import router as payments_router
from billtone.rating.cdr_api import operator as rating_cdrs_router
from billtone.rating.cdr_api import router as rating_charges_router
from billtone.rating.topup_api import router as rating_topup_router
from billtone.telephony.api import router as telephony_router

logger = logging.getLogger("billtone.api")


class BilltoneAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return openapi_document_problems(schema)


api = BilltoneAPI(
    title="Billtone API",
    version="1",
    description=(
        "Billing and self-service for cloud-telephony operators. Authenticate with "
        "`Authorization: Bearer <token>`. Errors are RFC 9457 problem+json. Every POST "
        "accepts an `Idempotency-Key` header, kept per caller (token's user and account): "
        "the same key and body replay the first response; the same key with another body is "
        "refused with 422; a response that showed a secret is replayed as a 410 "
        "`secret-shown-once` problem naming the created object's `id`."
    ),
    urls_namespace="api",
    parser=ExactJsonParser(),
)
idempotency.install(api)

customer_auth = CustomerTokenAuth()
operator_auth = OperatorTokenAuth()

api.add_router("", accounts_router, auth=customer_auth)
api.add_router("", accounts_tokens_router, auth=customer_auth)
api.add_router("", core_router, auth=customer_auth)
api.add_router("", ledger_router, auth=customer_auth)
api.add_router("", banktransfers_router, auth=customer_auth)
api.add_router("", payments_router, auth=customer_auth)
api.add_router("", telephony_router, auth=customer_auth)
api.add_router("", invoicing_router, auth=customer_auth)
api.add_router("", basket_router, auth=customer_auth)
api.add_router("", billing_router, auth=customer_auth)
api.add_router("", billing_pay_router, auth=customer_auth)
api.add_router("", rating_topup_router, auth=customer_auth)
api.add_router("", accounts_operator_router, auth=operator_auth)
api.add_router("", rating_charges_router, auth=customer_auth)
api.add_router("", rating_cdrs_router, auth=operator_auth)


@api.exception_handler(ApplicationError)
def on_application_error(request: HttpRequest, exc: ApplicationError):
    return problem_from_error(exc, instance=request.path)


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError):
    if any(error.get("type") == NO_SUCH_ROW for error in exc.errors):
        # an id in the path no object can have (core.schemas.RowId): nothing to act on,
        # whatever else the request holds
        return not_found(request)
    return problem_response(
        status=422,
        slug="validation-error",
        title="Invalid input",
        detail="Some fields are not valid.",
        instance=request.path,
        errors=validation_errors(exc.errors),
    )


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError):
    response = problem_response(
        status=401,
        slug="unauthenticated",
        title="Authentication required",
        detail="Send a valid API token as `Authorization: Bearer <token>`.",
        instance=request.path,
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404):
    return not_found(request)


@csrf_exempt
def not_found(request: HttpRequest):
    """Any path under /api/ that no route takes (config/urls.py): a problem, not an HTML page."""
    return problem_response(
        status=404, slug="not-found", title="Not found", detail="Not found.", instance=request.path
    )


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError):
    if isinstance(exc.__cause__, NinjaValidationError):  # raised by ExactJsonParser: 422
        return on_validation_error(request, exc.__cause__)
    return problem_response(
        status=exc.status_code,
        slug="http-error",
        title="Request refused",
        detail=str(exc),
        instance=request.path,
    )


@api.exception_handler(SuspiciousOperation)
def on_request_refused(request: HttpRequest, exc: SuspiciousOperation):
    body = request_refused_body(exc, instance=request.path)
    return HttpResponse(json.dumps(body), status=400, content_type=CONTENT_TYPE)


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception):
    logger.exception("Unhandled API error on %s %s", request.method, request.path)
    return problem_response(
        status=500,
        slug="internal-error",
        title="Internal error",
        detail="Something went wrong on our side; it has been logged.",
        instance=request.path,
    )
