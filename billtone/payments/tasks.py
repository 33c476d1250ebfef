"""Background work of card payments: take ids, call a service, own the retry policy."""

import logging

from celery import shared_task

from billtone.payments import selectors, services
from billtone.payments.models import Payment
from billtone.payments.services.shared import RECOVER_AFTER

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def payment_recover(payment_id: int) -> None:
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is not None:
        services.payment_recover(payment=payment)


@shared_task(ignore_result=True)
def payments_recover_stale() -> None:
    """Periodic (every few minutes): settle payments whose outcome is unknown (pending or
    errored) and that nobody has touched for RECOVER_AFTER. Safe to run twice."""
    for payment_id in selectors.payment_stale_ids(older_than=RECOVER_AFTER):
        try:
            payment_recover(payment_id)
        except Exception:  # one payment must not stop the others; the next run retries it
            logger.exception("Could not settle payment %s", payment_id)


@shared_task(ignore_result=True)
def card_expiry_notify() -> None:
    """Daily: tell billing emails about cards that expire within 30 days (once per card and
    expiry month)."""
    services.card_expiry_notify_due()
