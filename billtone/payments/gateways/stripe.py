"""The Stripe gateway, on the official `stripe` package (StripeClient, API v1).

- card_save: a Customer (one per account: pass gateway_customer to reuse it), a card
  PaymentMethod created from the card details, attached to the Customer. Sending card
  details from our server needs Stripe's "raw card data" permission (test mode has it); a
  production card form tokenizes in the browser with Stripe.js instead.
- card_charge: a PaymentIntent confirmed at once, off_session for automatic payments. The
  token is ``<customer>:<payment method>`` because an off-session PaymentIntent needs both.
- Every mutating call sends Stripe's Idempotency-Key. Stripe replays a key for 24 hours;
  beyond that, and with emulators that ignore the header, the key is also kept in the
  PaymentIntent's (and Refund's) metadata, and card_charge / charge_refund first look for an
  object carrying it: a retry with the same key finds the first charge instead of making a
  second. The look-up pages through the customer's PaymentIntents, newest first, back
  LOOKUP_DAYS days.
- Errors: a card decline (CardError) and a request Stripe refused (InvalidRequestError) are
  `failed`: nothing was charged. Network errors, timeouts, 5xx and anything else are
  `errored`: the outcome is unknown until charge_find settles it.

The stripe package logs request bodies at DEBUG level ("Post details"); a filter on its
logger masks card numbers and CVCs there, so they never reach a log at any level.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
import uuid
from decimal import Decimal
from typing import Any

import stripe

from billtone.core.errors import Conflict, NotFound

from .base import (
    MESSAGE_ERRORED,
    MESSAGE_REFUND_FAILED,
    MESSAGE_REFUND_PENDING,
    MESSAGE_REFUNDED,
    MESSAGE_REQUIRES_ACTION,
    MESSAGE_SUCCEEDED,
    CardDeclined,
    ChargeResult,
    ChargeStatus,
    GatewayUnavailable,
    RefundResult,
    RefundStatus,
    SavedCard,
    card_field_for,
    card_validate,
    failure_message,
    from_minor_units,
    to_minor_units,
)

logger = logging.getLogger(__name__)

META_IDEMPOTENCY_KEY = "billtone_idempotency_key"
META_ON_SESSION = "billtone_on_session"
META_CUSTOMER_REF = "billtone_customer_ref"
LOOKUP_DAYS = 30
DEFAULT_API_BASE = "https://api.stripe.com"
MESSAGE_NOT_SAVED = "The card could not be saved. Check its details or use another card."
MESSAGE_NOT_CHARGED = "The payment could not be made with this card."


class CardDataFilter(logging.Filter):
    """Masks card[number] and card[cvc] values in the stripe package's log records."""

    _FIELD = re.compile(r"(card(?:%5B|\[)(?:number|cvc)(?:%5D|\])=)[^&\s'\"]*", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self._FIELD.sub(r"\1[redacted]", message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


def _install_log_filter() -> None:
    stripe_logger = logging.getLogger("stripe")
    if not any(isinstance(f, CardDataFilter) for f in stripe_logger.filters):
        stripe_logger.addFilter(CardDataFilter())


_install_log_filter()


def _error_details(error: stripe.StripeError) -> dict[str, Any]:
    body = error.json_body if isinstance(error.json_body, dict) else {}
    details = body.get("error")
    return details if isinstance(details, dict) else {}


def _decline_code(error: stripe.StripeError) -> str:
    details = _error_details(error)
    return details.get("decline_code") or error.code or details.get("code") or "card_declined"


def _request_code(error: stripe.StripeError) -> str:
    if error.http_status == 404:
        return "resource_missing"
    return error.code or "invalid_request"


def _split_token(token: str) -> tuple[str, str] | None:
    customer, _, payment_method = token.partition(":")
    if customer.startswith("cus_") and payment_method.startswith("pm_"):
        return customer, payment_method
    return None


def _refund_status(status: str) -> RefundStatus:
    if status == "succeeded":
        return RefundStatus.SUCCEEDED
    if status in ("pending", "requires_action"):
        return RefundStatus.PENDING
    return RefundStatus.FAILED


class StripeGateway:
    name = "stripe"

    def __init__(
        self,
        *,
        api_key: str,
        api_base: str = DEFAULT_API_BASE,
        api_version: str = "",
        http_client: stripe.HTTPClient | None = None,
        max_network_retries: int = 2,
        lookup_days: int = LOOKUP_DAYS,
    ):
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base or DEFAULT_API_BASE},
            stripe_version=api_version or None,
            http_client=http_client,
            max_network_retries=max_network_retries,
        )
        self._lookup_seconds = lookup_days * 86400

    # Cards --------------------------------------------------------------------------------

    def card_save(
        self,
        *,
        number: str,
        exp_month: int | str,
        exp_year: int | str,
        cvc: str,
        holder_name: str,
        customer_ref: str,
        gateway_customer: str = "",
    ) -> SavedCard:
        card = card_validate(
            number=number, exp_month=exp_month, exp_year=exp_year, cvc=cvc, holder_name=holder_name
        )
        # One key per call and step: the stripe client's network retries are then safe.
        request_key = uuid.uuid4().hex
        v1 = self._client.v1
        try:
            customer = gateway_customer or (
                v1.customers.create(
                    params={
                        "description": f"Billtone {customer_ref}",
                        "metadata": {META_CUSTOMER_REF: customer_ref},
                    },
                    options={"idempotency_key": f"{request_key}-customer"},
                ).id
            )
            payment_method = v1.payment_methods.create(
                params={
                    "type": "card",
                    "card": {
                        "number": card.number,
                        "exp_month": card.exp_month,
                        "exp_year": card.exp_year,
                        "cvc": card.cvc,
                    },
                    "billing_details": {"name": card.holder_name},
                },
                options={"idempotency_key": f"{request_key}-payment-method"},
            )
            payment_method = v1.payment_methods.attach(
                payment_method.id,
                params={"customer": customer},
                options={"idempotency_key": f"{request_key}-attach"},
            )
        except stripe.CardError as error:
            code = _decline_code(error)
            logger.info("Stripe declined a %s card ending %s: %s", card.brand, card.last4, code)
            raise CardDeclined(
                field_name=card_field_for(code),
                failure_code=code,
                message=failure_message(code, MESSAGE_NOT_SAVED),
            ) from error
        except stripe.InvalidRequestError as error:
            code = _request_code(error)
            logger.warning("Stripe refused to save a %s card: %s", card.brand, code)
            raise CardDeclined(
                field_name=card_field_for(code),
                failure_code=code,
                message=failure_message(code, MESSAGE_NOT_SAVED),
            ) from error
        except stripe.StripeError as error:
            logger.warning("Stripe unavailable while saving a card: %s", type(error).__name__)
            raise GatewayUnavailable() from error

        details = payment_method.card
        logger.info(
            "Stripe saved a %s card ending %s as %s", card.brand, card.last4, payment_method.id
        )
        return SavedCard(
            token=f"{customer}:{payment_method.id}",
            brand=details.brand or card.brand,
            last4=details.last4,
            exp_month=int(details.exp_month),
            exp_year=int(details.exp_year),
            holder=card.holder_name,
            gateway_customer=customer,
            fingerprint=getattr(details, "fingerprint", None) or "",
        )

    def card_detach(self, *, token: str) -> None:
        parts = _split_token(token)
        if parts is None:
            return
        try:
            self._client.v1.payment_methods.detach(parts[1])
        except stripe.InvalidRequestError as error:
            # Already detached, or never attached: it cannot be charged either way.
            logger.info("Stripe had no attached card %s: %s", parts[1], _request_code(error))
        except stripe.StripeError as error:
            logger.warning("Stripe unavailable while detaching a card: %s", type(error).__name__)
            raise GatewayUnavailable() from error
        else:
            logger.info("Stripe detached card %s", parts[1])

    # Charges ------------------------------------------------------------------------------

    def card_charge(
        self,
        *,
        token: str,
        amount: Decimal,
        currency: str,
        on_session: bool,
        idempotency_key: str,
        description: str = "",
        metadata: dict[str, str] | None = None,
    ) -> ChargeResult:
        minor = to_minor_units(amount, currency)
        result = self._charge(
            token=token,
            amount=amount,
            currency=currency,
            minor=minor,
            on_session=on_session,
            idempotency_key=idempotency_key,
            description=description,
            metadata=metadata or {},
        )
        logger.info(
            "Stripe charge %s: %s %s",
            result.gateway_reference or "(none)",
            result.status,
            result.failure_code,
        )
        return result

    def _charge(
        self,
        *,
        token: str,
        amount: Decimal,
        currency: str,
        minor: int,
        on_session: bool,
        idempotency_key: str,
        description: str,
        metadata: dict[str, str],
    ) -> ChargeResult:
        ids = _split_token(token)
        if ids is None:
            return self._charge_failed(amount, currency, "resource_missing", "")
        customer, payment_method = ids
        try:
            found = self._intent_find(customer, idempotency_key)
        except stripe.StripeError as error:
            return self._charge_errored(amount, currency, error)
        if found is not None:
            logger.info("Stripe charge %s found by its idempotency key", found["id"])
            return self._charge_result(found, amount=amount, currency=currency)

        params: dict[str, Any] = {
            "amount": minor,
            "currency": currency.lower(),
            "customer": customer,
            "payment_method": payment_method,
            "payment_method_types": ["card"],
            "confirm": True,
            "metadata": {
                **metadata,
                META_IDEMPOTENCY_KEY: idempotency_key,
                META_ON_SESSION: "true" if on_session else "false",
            },
        }
        if description:
            params["description"] = description
        if not on_session:
            params["off_session"] = True
        try:
            intent = self._client.v1.payment_intents.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        except stripe.CardError as error:
            intent_data = _error_details(error).get("payment_intent") or {}
            return self._charge_failed(
                amount, currency, _decline_code(error), intent_data.get("id", "")
            )
        except stripe.InvalidRequestError as error:
            logger.warning("Stripe refused a charge: %s", error)
            return self._charge_failed(amount, currency, _request_code(error), "")
        except stripe.StripeError as error:
            return self._charge_errored(amount, currency, error)
        return self._charge_result(intent.to_dict(), amount=amount, currency=currency)

    def charge_find(
        self,
        *,
        token: str,
        amount: Decimal,
        currency: str,
        on_session: bool,
        idempotency_key: str,
    ) -> ChargeResult | None:
        to_minor_units(amount, currency)
        ids = _split_token(token)
        if ids is None:
            return None
        try:
            found = self._intent_find(ids[0], idempotency_key)
        except stripe.StripeError as error:
            logger.warning("Stripe charge look-up failed: %s", type(error).__name__)
            raise GatewayUnavailable() from error
        if found is None:
            return None
        return self._charge_result(found, amount=amount, currency=currency)

    def charge_confirm(self, *, reference: str) -> ChargeResult:
        payment_intents = self._client.v1.payment_intents
        try:
            intent = payment_intents.retrieve(reference)
            if intent.status == "requires_confirmation":
                # A decline shows on the PaymentIntent's last_payment_error.
                with contextlib.suppress(stripe.CardError):
                    payment_intents.confirm(
                        reference, options={"idempotency_key": f"{reference}-confirm"}
                    )
                intent = payment_intents.retrieve(reference)
        except stripe.InvalidRequestError as error:
            logger.warning("Stripe charge %s cannot be confirmed: %s", reference, error)
            raise NotFound("No such charge at Stripe.") from error
        except stripe.StripeError as error:
            logger.warning("Stripe charge confirmation failed: %s", type(error).__name__)
            raise GatewayUnavailable() from error
        return self._charge_result(intent.to_dict())

    def _intent_find(self, customer: str, idempotency_key: str) -> dict[str, Any] | None:
        """The customer's PaymentIntent carrying the key, newest first, within the window."""
        oldest = time.time() - self._lookup_seconds
        page = self._client.v1.payment_intents.list(params={"customer": customer, "limit": 100})
        for intent in page.auto_paging_iter():
            data = intent.to_dict()
            if (data.get("metadata") or {}).get(META_IDEMPOTENCY_KEY) == idempotency_key:
                return data
            if data.get("created", 0) < oldest:
                return None
        return None

    def _charge_result(
        self,
        intent: dict[str, Any],
        *,
        amount: Decimal | None = None,
        currency: str | None = None,
    ) -> ChargeResult:
        """The outcome of a PaymentIntent; with amount and currency, checks it is that charge."""
        intent_currency = intent["currency"].upper()
        intent_amount = from_minor_units(intent["amount"], intent_currency)
        if amount is not None and (intent_amount, intent_currency) != (amount, currency):
            raise Conflict(
                "This idempotency key was already used for a different charge.",
                slug="idempotency-key-reused",
                title="Idempotency key reused",
            )
        on_session = (intent.get("metadata") or {}).get(META_ON_SESSION) != "false"
        status = intent["status"]
        reference = intent["id"]
        if status == "succeeded":
            return ChargeResult(
                status=ChargeStatus.SUCCEEDED,
                gateway_reference=reference,
                amount=intent_amount,
                currency=intent_currency,
                message=MESSAGE_SUCCEEDED,
            )
        if status in ("requires_action", "requires_source_action"):
            if not on_session:
                # Stripe answers an off-session charge that needs the customer with an error;
                # should it leave one waiting, nobody is there to act on it.
                return self._charge_failed(
                    intent_amount, intent_currency, "authentication_required", reference
                )
            return ChargeResult(
                status=ChargeStatus.REQUIRES_ACTION,
                gateway_reference=reference,
                amount=intent_amount,
                currency=intent_currency,
                message=MESSAGE_REQUIRES_ACTION,
                client_secret=intent.get("client_secret") or "",
            )
        if status == "requires_payment_method":
            error = intent.get("last_payment_error") or {}
            code = error.get("decline_code") or error.get("code") or "card_declined"
            return self._charge_failed(intent_amount, intent_currency, code, reference)
        if status == "canceled":
            return self._charge_failed(intent_amount, intent_currency, "canceled", reference)
        # processing, requires_confirmation, requires_capture: not settled yet.
        return ChargeResult(
            status=ChargeStatus.ERRORED,
            gateway_reference=reference,
            amount=intent_amount,
            currency=intent_currency,
            failure_code=status,
            message=MESSAGE_ERRORED,
        )

    def _charge_failed(
        self, amount: Decimal, currency: str, code: str, reference: str
    ) -> ChargeResult:
        return ChargeResult(
            status=ChargeStatus.FAILED,
            gateway_reference=reference,
            amount=amount,
            currency=currency,
            failure_code=code,
            message=failure_message(code, MESSAGE_NOT_CHARGED),
        )

    def _charge_errored(
        self, amount: Decimal, currency: str, error: stripe.StripeError
    ) -> ChargeResult:
        logger.warning(
            "Stripe charge outcome unknown: %s (HTTP %s)", type(error).__name__, error.http_status
        )
        return ChargeResult(
            status=ChargeStatus.ERRORED,
            gateway_reference="",
            amount=amount,
            currency=currency,
            failure_code="gateway_error",
            message=MESSAGE_ERRORED,
        )

    # Refunds ------------------------------------------------------------------------------

    def charge_refund(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> RefundResult:
        minor = to_minor_units(amount, currency)
        try:
            found = self._refund_find(reference, idempotency_key)
            if found is not None:
                return self._refund_result(found)
            refund = self._client.v1.refunds.create(
                params={
                    "payment_intent": reference,
                    "amount": minor,
                    "metadata": {META_IDEMPOTENCY_KEY: idempotency_key},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.InvalidRequestError as error:
            logger.warning("Stripe refused a refund of %s: %s", reference, error)
            code = _request_code(error)
            return RefundResult(
                RefundStatus.FAILED, "", amount, currency, code, MESSAGE_REFUND_FAILED
            )
        except stripe.StripeError as error:
            logger.warning("Stripe refund outcome unknown: %s", type(error).__name__)
            return RefundResult(
                RefundStatus.ERRORED, "", amount, currency, "gateway_error", MESSAGE_ERRORED
            )
        result = self._refund_result(refund.to_dict())
        logger.info(
            "Stripe refund %s of %s: %s", result.gateway_reference, reference, result.status
        )
        return result

    def refund_find(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> RefundResult | None:
        to_minor_units(amount, currency)
        try:
            found = self._refund_find(reference, idempotency_key)
        except stripe.StripeError as error:
            logger.warning("Stripe refund look-up failed: %s", type(error).__name__)
            raise GatewayUnavailable() from error
        return None if found is None else self._refund_result(found)

    def _refund_find(self, reference: str, idempotency_key: str) -> dict[str, Any] | None:
        page = self._client.v1.refunds.list(params={"payment_intent": reference, "limit": 100})
        for refund in page.auto_paging_iter():
            data = refund.to_dict()
            if (data.get("metadata") or {}).get(META_IDEMPOTENCY_KEY) == idempotency_key:
                return data
        return None

    def _refund_result(self, refund: dict[str, Any]) -> RefundResult:
        currency = refund["currency"].upper()
        status = _refund_status(refund.get("status") or "")
        failure_code = ""
        if status == RefundStatus.FAILED:
            failure_code = refund.get("failure_reason") or "refund_failed"
        message = {
            RefundStatus.SUCCEEDED: MESSAGE_REFUNDED,
            RefundStatus.PENDING: MESSAGE_REFUND_PENDING,
            RefundStatus.FAILED: MESSAGE_REFUND_FAILED,
        }[status]
        return RefundResult(
            status=status,
            gateway_reference=refund["id"],
            amount=from_minor_units(refund["amount"], currency),
            currency=currency,
            failure_code=failure_code,
            message=message,
        )
