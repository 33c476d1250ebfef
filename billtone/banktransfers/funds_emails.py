"""The "funds received" email, one per credited bank entry, keyed by the entry.

The importer queues thousands at once: rows are rendered from the compiled templates and
inserted in one statement (a key already queued is skipped by its unique constraint), and
one task per batch sends them after commit. Staff allocations queue one through
`billing_email_queue`. Both render the same templates from `funds_received_context`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.template import TemplateDoesNotExist
from django.template.loader import get_template

from billtone.banktransfers.references import reference_format
from billtone.core import clock
from billtone.core.money import Money
from billtone.notifications.models import EmailDelivery

TEMPLATE = "funds_received"
logger = logging.getLogger(__name__)


def funds_received_key(identity: str) -> str:
    return f"funds-received:{identity}"


def funds_received_context(
    *,
    company_name: str,
    locale: str,
    amount: Money,
    reference: str,
    booking_date: date,
    payer: str,
    requested: Money | None,
) -> dict[str, object]:
    return {
        "company_name": company_name,
        "amount": _money_format(amount.amount, amount.currency, locale),
        "reference": reference_format(reference) if reference else "(none)",
        "booking_date": booking_date.isoformat(),
        "payer": payer,
        "requested": (
            _money_format(requested.amount, requested.currency, locale) if requested else ""
        ),
        "different": requested is not None and requested != amount,
    }


@lru_cache(maxsize=4096)
def _money_format(amount, currency: str, locale: str) -> str:
    return Money(amount, currency).format(locale)


@dataclass(frozen=True, slots=True)
class FundsReceived:
    identity: str  # the bank entry's
    account_id: int
    to_email: str
    context: dict[str, object]


def _templates():
    subject = get_template(f"notifications/email/{TEMPLATE}.subject")
    text = get_template(f"notifications/email/{TEMPLATE}.txt")
    try:
        html = get_template(f"notifications/email/{TEMPLATE}.html")
    except TemplateDoesNotExist:
        html = None
    return subject, text, html


def funds_received_queue_many(*, notices: list[FundsReceived]) -> list[int]:
    """Store the emails (skipping keys queued before) and send them after commit, one
    task for the lot; returns the ids of the deliveries stored now."""
    if not notices:
        return []
    subject_t, text_t, html_t = _templates()
    operator = settings.BILLTONE_OPERATOR_NAME
    now = clock.now()
    rows = []
    for notice in notices:
        context = {"operator_name": operator, **notice.context}
        rows.append(
            EmailDelivery(
                key=funds_received_key(notice.identity),
                account_id=notice.account_id,
                to_email=notice.to_email,
                subject=" ".join(subject_t.render(context).split())[:250],
                body_text=text_t.render(context),
                body_html=html_t.render(context) if html_t is not None else "",
                created_at=now,
                next_attempt_at=now,
            )
        )
    EmailDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    ids = list(
        EmailDelivery.objects.filter(key__in=[row.key for row in rows], created_at=now).values_list(
            "pk", flat=True
        )
    )
    if ids:
        transaction.on_commit(lambda: _schedule(ids))
    return ids


def _schedule(delivery_ids: list[int]) -> None:
    from billtone.banktransfers.tasks import funds_received_emails_send

    try:
        funds_received_emails_send.delay(delivery_ids)
    except Exception:  # broker down: the periodic email retry task sends them
        logger.warning(
            "Could not schedule %s funds-received emails; they stay pending", len(delivery_ids)
        )
