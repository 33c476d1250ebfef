"""The "funds received" email, one per credited bank entry, keyed by the entry.

A statement import (tens of thousands at once, once it has committed: services/funds_emails.py)
and staff allocations store it unrendered, with the entry's identity as its context
(`funds_received_queued`); `funds_received_render` renders it when it is sent, from the
entry (matched or allocated), its bank transfer and the account's billing profile as they
are then (registered in apps.py), through Django's templates and Babel's amounts.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings

from billtone.banktransfers.references import reference_format
from billtone.core.money import Money, locale_for
from billtone.notifications.renderers import EmailGone, RenderedEmail, email_templates_render
from billtone.reconciliation.models import BankEntry

TEMPLATE = "funds_received"
KEY_PREFIX = "funds-received:"
CONTEXT_FIELD = "entry"


def funds_received_key(identity: str) -> str:
    return KEY_PREFIX + identity


def funds_received_queued(identity: str) -> dict[str, str]:
    """The context of an unrendered "funds received" delivery: the entry's identity."""
    return {CONTEXT_FIELD: identity}


def funds_received_render(context: dict[str, object]) -> RenderedEmail:
    """The email of a credited entry, as `funds_received_queued` named it; EmailGone when
    the entry is no longer there or not credited."""
    identity = context.get(CONTEXT_FIELD)
    entry = (
        BankEntry.objects.select_related("bank_transfer", "account__billing_profile")
        .filter(
            identity=identity,
            status__in=[BankEntry.Status.MATCHED, BankEntry.Status.ALLOCATED],
        )
        .first()
        if isinstance(identity, str)
        else None
    )
    if entry is None:
        raise EmailGone(f"No credited bank entry {identity!r}.")
    request = entry.bank_transfer
    profile = entry.account.billing_profile
    return email_templates_render(
        TEMPLATE,
        funds_received_context(
            company_name=profile.company_name,
            locale=locale_for(language=settings.LANGUAGE_CODE, country=profile.country),
            amount=Money(entry.amount, entry.currency),
            reference=request.reference if request is not None else entry.reference,
            booking_date=entry.booking_date,
            payer=entry.payer_name,
            requested=Money(request.amount, request.currency) if request is not None else None,
        ),
    )


def funds_received_context(
    *,
    company_name: str,
    locale: str,
    amount: Money,
    reference: str,
    booking_date: date,
    payer: str,
    requested: Money | None,
) -> dict[str, str | bool]:
    """What the funds_received templates show, as text."""
    return {
        "company_name": company_name,
        "amount": amount.format(locale),
        "reference": _reference_display(reference),
        "booking_date": booking_date.isoformat(),
        "payer": payer,
        "requested": requested.format(locale) if requested is not None else "",
        "different": requested is not None and requested != amount,
    }


def _reference_display(reference: str) -> str:
    return reference_format(reference) if reference else "(none)"
