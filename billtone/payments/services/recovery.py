"""Settling payments whose outcome we do not know (pending or errored), charges and refunds
alike: run by a periodic task for stale payments (RECOVER_AFTER) and by the
recover_payments command."""

from billtone.core.services import Actor
from billtone.payments.models import Payment, PaymentKind
from billtone.payments.services.charges import charge_recover
from billtone.payments.services.refunds import refund_recover
from billtone.payments.services.shared import SYSTEM


def payment_recover(*, payment: Payment, actor: Actor = SYSTEM) -> Payment:
    """Ask the gateway with the payment's own idempotency key and record what it says.
    Safe to run twice, and at any time."""
    if payment.kind == PaymentKind.REFUND:
        return refund_recover(refund=payment, actor=actor)
    return charge_recover(charge=payment, actor=actor)
