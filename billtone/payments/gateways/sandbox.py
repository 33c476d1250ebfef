"""The sandbox gateway: the default, for development, demos and tests. No network, no state.

It answers like the public test cards Stripe documents (https://docs.stripe.com/testing):

    4242 4242 4242 4242, 5555 5555 5555 4444, 3782 822463 10005   succeeds
    4000 0566 5566 5556 (Visa debit), 5200 8282 8282 8210 (MC debit)
    4000 0000 0000 0002, 4000 0000 0000 0341   declined: generic_decline
    4000 0000 0000 9995                        declined: insufficient_funds
    4000 0000 0000 0069                        declined: expired_card
    4000 0000 0000 0127                        declined: incorrect_cvc
    4000 0000 0000 0119                        declined: processing_error
    4000 0025 0000 3155                        3-D Secure: on session requires_action (then
                                               charge_confirm succeeds); off session
                                               declined: authentication_required

Every test card can be saved; its behaviour shows when it is charged. Any other number is
refused when saved (test_mode_live_card), so a real card typed into a demo goes nowhere.

The sandbox keeps no state, so it answers the same in every process (web, worker, tests)
and across restarts. Everything is derived:
- the token names the card's behaviour: ``sandbox_card_<behaviour>_<random>``;
- a card's fingerprint is a hash of its number, ``sandbox_fp_<hash>``: the same number saved
  again has the same fingerprint, as with Stripe (expiry and name do not count);
- a charge's reference is a hash of its idempotency key plus what the charge answered:
  ``sandbox_ch_<hash>.<behaviour>.<on|off>.<minor units>.<currency>``. Charging again with
  the same key and arguments gives the same reference and outcome: nothing is charged twice.
  Having no record, the sandbox treats every charge named by its arguments as made:
  charge_find answers exactly what card_charge answers;
- a 3-D Secure charge on session answers requires_action, and charge_confirm plays the
  customer who passes the challenge: it answers succeeded. The sandbox does not remember that
  the challenge was passed; ask charge_confirm, not charge_find, after authentication;
- a refund's reference is ``sandbox_re_<hash>.<minor units>.<currency>``; a refund is
  checked against its charge's amount, not against earlier refunds of the same charge.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from decimal import Decimal

from billtone.core.errors import NotFound, ValidationFailed

from .base import (
    MESSAGE_ERRORED,
    MESSAGE_REFUND_FAILED,
    MESSAGE_REFUNDED,
    MESSAGE_REQUIRES_ACTION,
    MESSAGE_SUCCEEDED,
    CardDeclined,
    ChargeResult,
    ChargeStatus,
    RefundResult,
    RefundStatus,
    SavedCard,
    card_validate,
    failure_message,
    from_minor_units,
    to_minor_units,
)

logger = logging.getLogger(__name__)

SUCCEEDS = "succeeds"
AUTHENTICATION_REQUIRED = "authentication_required"

TEST_CARDS: dict[str, str] = {
    "4242424242424242": SUCCEEDS,
    "5555555555554444": SUCCEEDS,
    "378282246310005": SUCCEEDS,
    "4000056655665556": SUCCEEDS,
    "5200828282828210": SUCCEEDS,
    "4000000000000002": "generic_decline",
    "4000000000000341": "generic_decline",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
    "4000000000000127": "incorrect_cvc",
    "4000000000000119": "processing_error",
    "4000002500003155": AUTHENTICATION_REQUIRED,
}
BEHAVIOURS = frozenset(TEST_CARDS.values())

TOKEN_PREFIX = "sandbox_card_"
CHARGE_PREFIX = "sandbox_ch_"
REFUND_PREFIX = "sandbox_re_"
FINGERPRINT_PREFIX = "sandbox_fp_"


def _digest(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}\0{value}".encode()).hexdigest()[:24]


def _behaviour_of(token: str) -> str | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    behaviour, _, random_part = token.removeprefix(TOKEN_PREFIX).rpartition("_")
    return behaviour if behaviour in BEHAVIOURS and random_part else None


def _outcome(behaviour: str, *, on_session: bool, authenticated: bool) -> tuple[ChargeStatus, str]:
    if behaviour == SUCCEEDS:
        return ChargeStatus.SUCCEEDED, ""
    if behaviour == AUTHENTICATION_REQUIRED:
        if not on_session:
            return ChargeStatus.FAILED, AUTHENTICATION_REQUIRED
        return (ChargeStatus.SUCCEEDED if authenticated else ChargeStatus.REQUIRES_ACTION), ""
    return ChargeStatus.FAILED, behaviour


def _charge_result(
    reference: str,
    behaviour: str,
    *,
    on_session: bool,
    minor: int,
    currency: str,
    authenticated: bool,
) -> ChargeResult:
    status, failure_code = _outcome(behaviour, on_session=on_session, authenticated=authenticated)
    message = {
        ChargeStatus.SUCCEEDED: MESSAGE_SUCCEEDED,
        ChargeStatus.REQUIRES_ACTION: MESSAGE_REQUIRES_ACTION,
        ChargeStatus.FAILED: failure_message(failure_code),
        ChargeStatus.ERRORED: MESSAGE_ERRORED,
    }[status]
    return ChargeResult(
        status=status,
        gateway_reference=reference,
        amount=from_minor_units(minor, currency),
        currency=currency,
        failure_code=failure_code,
        message=message,
        client_secret=f"{reference}_secret" if status == ChargeStatus.REQUIRES_ACTION else "",
    )


def _parse_charge(reference: str) -> tuple[str, bool, int, str]:
    """(behaviour, on_session, minor units, currency) from a sandbox charge reference."""
    parts = reference.removeprefix(CHARGE_PREFIX).split(".")
    if (
        not reference.startswith(CHARGE_PREFIX)
        or len(parts) != 5
        or parts[1] not in BEHAVIOURS
        or parts[2] not in ("on", "off")
        or not parts[3].isdigit()
    ):
        raise NotFound("No such sandbox charge.")
    return parts[1], parts[2] == "on", int(parts[3]), parts[4]


class SandboxGateway:
    name = "sandbox"

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
        behaviour = TEST_CARDS.get(card.number)
        if behaviour is None:
            logger.info("Sandbox refused a %s card that is not a test card", card.brand)
            raise CardDeclined(
                field_name="number",
                failure_code="test_mode_live_card",
                message=failure_message("test_mode_live_card"),
            )
        token = f"{TOKEN_PREFIX}{behaviour}_{secrets.token_hex(8)}"
        logger.info("Sandbox saved a %s card ending %s as %s", card.brand, card.last4, token)
        return SavedCard(
            token=token,
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            holder=card.holder_name,
            gateway_customer=gateway_customer
            or "sandbox_cus_" + _digest("customer", customer_ref)[:16],
            fingerprint=FINGERPRINT_PREFIX + _digest("fingerprint", card.number)[:16],
        )

    def card_detach(self, *, token: str) -> None:
        # Nothing is kept, so nothing is forgotten: the token stays readable, as a detached
        # Stripe card's id does.
        logger.info("Sandbox detached card %s", token)

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
        behaviour = _behaviour_of(token)
        if behaviour is None:
            logger.info("Sandbox charge refused: unknown token")
            return ChargeResult(
                status=ChargeStatus.FAILED,
                gateway_reference="",
                amount=amount,
                currency=currency,
                failure_code="resource_missing",
                message="This card is no longer available. Add it again.",
            )
        result = self._charge(
            behaviour,
            on_session=on_session,
            minor=minor,
            currency=currency,
            idempotency_key=idempotency_key,
        )
        logger.info(
            "Sandbox charge %s: %s %s %s",
            result.gateway_reference,
            result.status,
            result.failure_code,
            "on session" if on_session else "off session",
        )
        return result

    def _charge(
        self, behaviour: str, *, on_session: bool, minor: int, currency: str, idempotency_key: str
    ) -> ChargeResult:
        reference = ".".join(
            [
                CHARGE_PREFIX + _digest("charge", idempotency_key),
                behaviour,
                "on" if on_session else "off",
                str(minor),
                currency,
            ]
        )
        return _charge_result(
            reference,
            behaviour,
            on_session=on_session,
            minor=minor,
            currency=currency,
            authenticated=False,
        )

    def charge_find(
        self,
        *,
        token: str,
        amount: Decimal,
        currency: str,
        on_session: bool,
        idempotency_key: str,
    ) -> ChargeResult | None:
        minor = to_minor_units(amount, currency)
        behaviour = _behaviour_of(token)
        if behaviour is None:
            return None
        return self._charge(
            behaviour,
            on_session=on_session,
            minor=minor,
            currency=currency,
            idempotency_key=idempotency_key,
        )

    def charge_confirm(self, *, reference: str) -> ChargeResult:
        behaviour, on_session, minor, currency = _parse_charge(reference)
        result = _charge_result(
            reference,
            behaviour,
            on_session=on_session,
            minor=minor,
            currency=currency,
            authenticated=True,
        )
        logger.info("Sandbox charge %s confirmed: %s", reference, result.status)
        return result

    def _refund(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> RefundResult:
        behaviour, on_session, charged_minor, charged_currency = _parse_charge(reference)
        if currency != charged_currency:
            raise ValidationFailed(
                {"currency": [f"The payment was made in {charged_currency}, not {currency}."]}
            )
        minor = to_minor_units(amount, currency)
        status, _ = _outcome(behaviour, on_session=on_session, authenticated=True)
        failure_code = ""
        if status != ChargeStatus.SUCCEEDED:
            failure_code = "charge_not_refundable"
        elif minor > charged_minor:
            failure_code = "amount_too_large"
        refund_reference = f"{REFUND_PREFIX}{_digest('refund', idempotency_key)}.{minor}.{currency}"
        return RefundResult(
            status=RefundStatus.FAILED if failure_code else RefundStatus.SUCCEEDED,
            gateway_reference="" if failure_code else refund_reference,
            amount=amount,
            currency=currency,
            failure_code=failure_code,
            message=MESSAGE_REFUND_FAILED if failure_code else MESSAGE_REFUNDED,
        )

    def charge_refund(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> RefundResult:
        result = self._refund(
            reference=reference, amount=amount, currency=currency, idempotency_key=idempotency_key
        )
        logger.info(
            "Sandbox refund of %s: %s %s", reference, result.status, result.gateway_reference
        )
        return result

    def refund_find(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> RefundResult | None:
        result = self._refund(
            reference=reference, amount=amount, currency=currency, idempotency_key=idempotency_key
        )
        return result if result.status == RefundStatus.SUCCEEDED else None
