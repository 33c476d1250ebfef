"""Background work of the basket: take ids, call a service, own the retry policy."""

import logging

from celery import shared_task

from billtone.basket import selectors, services

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def checkout_settle(checkout_id: int) -> None:
    services.checkout_settle(checkout_id=checkout_id)


@shared_task(ignore_result=True)
def checkouts_settle_due() -> None:
    """Periodic (every minute): complete or fail the card checkouts whose payment the payments
    app's recovery settled after the customer left. Safe to run twice, and at once."""
    for checkout_id in selectors.checkouts_to_settle_ids():
        try:
            checkout_settle(checkout_id)
        except Exception:  # one checkout must not stop the others; the next run retries it
            logger.exception("Could not settle checkout %s", checkout_id)
