"""Billing emails about cards: a card that expires soon. (A failed automatic payment is
told where it is recorded: charges.charge_outcome_record.)"""

import logging

from billtone.core import clock
from billtone.notifications.models import EmailDelivery
from billtone.notifications.services import billing_email_queue
from billtone.payments import selectors

logger = logging.getLogger(__name__)


def card_expiry_notify_due() -> list[EmailDelivery]:
    """Queue the "card expires soon" email for every card that expires within
    EXPIRES_SOON_DAYS in its account's time zone. One email per card and expiry month, however
    often this runs."""
    now = clock.now()
    deliveries = []
    for card in selectors.cards_expiring_candidates(now=now):
        today = selectors.account_today(account=card.account, now=now)
        expiry = selectors.card_expiry(card=card, today=today)
        if not expiry.expires_soon:
            continue
        deliveries.append(
            billing_email_queue(
                account=card.account,
                key=f"card-expiring:{card.pk}:{card.exp_year}-{card.exp_month:02d}",
                template="card_expiring",
                context={"card": card, "expiry": expiry},
            )
        )
    logger.info("Card expiry notices: %s cards expire soon", len(deliveries))
    return deliveries
