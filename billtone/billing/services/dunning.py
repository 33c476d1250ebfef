"""Dunning (docs/decisions/0020): an open bill is tried again on the days of the operator's
`dunning_days` after its issue (at or after issue + N days, whatever the hour: no midnight
to miss), each try business funds then the default card off session (key
`bill-collect:<invoice id>:<try + 1>`; 1 is the bill run's own collection). Each failed try
emails the billing email (rendered when sent); after the last one the account is suspended
(telephony). Paying every invoice it was suspended for, any way, reactivates it.

A try is made before it is recorded: two runners making the same try at once charge once
(the payment's key) and only the one whose conditional UPDATE moves `tries` records it and
emails (the email's key too). A runner that dies between the two leaves the try due: the
next run makes it again with the same key, which replays the first payment.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from billtone.accounts.models import Account
from billtone.billing.models import Dunning
from billtone.billing.services.collect import bill_collect
from billtone.catalog.selectors import operator_profile_get
from billtone.core import clock
from billtone.core.services import Actor
from billtone.invoicing.models import Invoice
from billtone.notifications.services import billing_email_queue_unrendered
from billtone.telephony.models import AccountSuspension
from billtone.telephony.services import account_reactivate, account_suspend

logger = logging.getLogger(__name__)

DUNNING = Actor.system("dunning")
EMAIL_TEMPLATE = "billing.dunning_failed"
BILL_KEY_PREFIX = "bill:"
SUSPEND_PREFIX = "Unpaid invoice "
SUSPEND_REASON = SUSPEND_PREFIX + "{number}: every payment try failed."


def try_due_at(*, issued_at: datetime, schedule: list[int], tries: int) -> datetime | None:
    """When try `tries + 1` is due: issue + its day count; None after the last."""
    if tries >= len(schedule):
        return None
    return issued_at + timedelta(days=schedule[tries])


def _open_bills_to_start(now: datetime, first_day: int) -> list[int]:
    """Open bills whose first try is due and that have no dunning row yet."""
    return list(
        Invoice.objects.filter(
            status=Invoice.Status.OPEN,
            source_key__startswith=BILL_KEY_PREFIX,
            issued_at__lte=now - timedelta(days=first_day),
            dunning__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def dunning_start(*, invoice: Invoice, schedule: list[int]) -> Dunning:
    """The invoice's dunning row (made on first use: unique per invoice)."""
    try:
        with transaction.atomic():
            return Dunning.objects.create(
                invoice=invoice,
                account_id=invoice.account_id,
                next_try_at=try_due_at(issued_at=invoice.issued_at, schedule=schedule, tries=0),
                created_at=clock.now(),
            )
    except IntegrityError:
        return Dunning.objects.get(invoice=invoice)


def dunning_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Ids of the dunning rows whose next try is due, making those of open bills that reached
    their first try."""
    now = now or clock.now()
    schedule = operator_profile_get().dunning_schedule
    if schedule:
        for invoice in Invoice.objects.defer("pdf").filter(
            pk__in=_open_bills_to_start(now, schedule[0])[:limit]
        ):
            dunning_start(invoice=invoice, schedule=schedule)
    due = Dunning.objects.filter(next_try_at__lte=now, settled_at__isnull=True)
    return list(due.order_by("next_try_at", "pk").values_list("pk", flat=True)[:limit])


def _settled(dunning: Dunning, invoice: Invoice) -> bool:
    if invoice.status != Invoice.Status.PAID:
        return False
    Dunning.objects.filter(pk=dunning.pk, settled_at__isnull=True).update(
        settled_at=invoice.paid_at or clock.now(), next_try_at=None
    )
    return True


def dunning_try(*, dunning_id: int, actor: Actor = DUNNING) -> Dunning:
    """Make the dunning row's due try: collect (funds, then the default card); on failure
    email, and after the last try suspend the account. Outside any transaction."""
    dunning = Dunning.objects.select_related("account").get(pk=dunning_id)
    invoice = Invoice.objects.defer("pdf").get(pk=dunning.invoice_id)
    now = clock.now()
    if dunning.settled_at or dunning.next_try_at is None or dunning.next_try_at > now:
        return dunning
    if _settled(dunning, invoice):
        dunning_settle(account=dunning.account, actor=actor)
        return Dunning.objects.get(pk=dunning.pk)
    number = dunning.tries + 1
    try:
        collection = bill_collect(invoice_id=invoice.pk, actor=actor, attempt=number + 1)
        paid, reason = collection.paid, collection.reason
    except Exception as error:  # a refusal before the gateway, a bug: a failed try all the same
        logger.exception("Dunning try %s of invoice %s failed", number, invoice.pk)
        paid, reason = False, getattr(error, "detail", "") or "The payment could not be made."
    if paid:
        invoice.refresh_from_db(fields=["status", "paid_at"])
        Dunning.objects.filter(pk=dunning.pk, tries=dunning.tries).update(tries=number)
        _settled(dunning, invoice)
        dunning_settle(account=dunning.account, actor=actor)
        return Dunning.objects.get(pk=dunning.pk)
    return _failure_record(dunning=dunning, invoice=invoice, reason=reason, actor=actor)


def _failure_record(*, dunning: Dunning, invoice: Invoice, reason: str, actor: Actor) -> Dunning:
    schedule = operator_profile_get().dunning_schedule
    number = dunning.tries + 1
    next_at = try_due_at(issued_at=invoice.issued_at, schedule=schedule, tries=number)
    last = next_at is None
    invoice.refresh_from_db(fields=["status", "paid_at"])
    if _settled(dunning, invoice):  # paid meanwhile (the Pay page, funds arriving)
        dunning_settle(account=dunning.account, actor=actor)
        return Dunning.objects.get(pk=dunning.pk)
    with transaction.atomic():
        moved = Dunning.objects.filter(pk=dunning.pk, tries=dunning.tries).update(
            tries=number,
            next_try_at=next_at,
            last_failure=reason[:2000],
            last_try_at=clock.now(),
            suspended=last,
        )
        if not moved:  # another runner recorded this try
            return Dunning.objects.get(pk=dunning.pk)
        billing_email_queue_unrendered(
            account=dunning.account,
            key=f"dunning:{invoice.pk}:{number}",
            template=EMAIL_TEMPLATE,
            context={
                "invoice_id": invoice.pk,
                "try": number,
                "tries": len(schedule),
                "reason": reason[:500],
                "next_try_at": next_at.isoformat() if next_at else None,
            },
        )
        if last:
            account_suspend(
                account=dunning.account,
                reason=SUSPEND_REASON.format(number=invoice.number),
                actor=actor,
            )
    logger.info("Invoice %s: dunning try %s failed: %s", invoice.number, number, reason)
    return Dunning.objects.get(pk=dunning.pk)


def dunning_settle(*, account: Account, actor: Actor = DUNNING) -> bool:
    """Mark the account's dunning rows of paid invoices settled; when none it was suspended
    for is left unpaid, reactivate it (`account.reactivated`). True if reactivated."""
    rows = list(Dunning.objects.filter(account=account, settled_at__isnull=True))
    paid = dict(
        Invoice.objects.filter(
            pk__in=[row.invoice_id for row in rows], status=Invoice.Status.PAID
        ).values_list("pk", "paid_at")
    )
    for row in rows:
        if row.invoice_id in paid:
            Dunning.objects.filter(pk=row.pk, settled_at__isnull=True).update(
                settled_at=paid[row.invoice_id] or clock.now(), next_try_at=None
            )
    owed = Dunning.objects.filter(account=account, suspended=True, settled_at__isnull=True)
    suspension = AccountSuspension.objects.filter(account=account).first()
    ours = (
        suspension is not None
        and suspension.suspended_at is not None
        and suspension.reason.startswith(SUSPEND_PREFIX)
    )  # a suspension the operator made for another reason is the operator's to lift
    if not ours or owed.exists():
        return False
    return account_reactivate(account=account, actor=actor).changed


def dunning_settle_sweep(*, limit: int = 500) -> int:
    """Periodic: accounts suspended by dunning whose invoices were all paid meanwhile (a
    credit note, a payment this app was not told of) are reactivated. Returns how many."""
    rows = Dunning.objects.filter(
        suspended=True, settled_at__isnull=True, invoice__status=Invoice.Status.PAID
    )
    account_ids = sorted(set(rows.values_list("account_id", flat=True)[:limit]))
    done = 0
    for account in Account.objects.filter(pk__in=account_ids):
        done += dunning_settle(account=account)
    return done


def dunning_run(*, now: datetime | None = None) -> int:
    """Periodic: make every due try, then reactivate the accounts that paid. Returns the
    number of tries made."""
    made = 0
    for dunning_id in dunning_due(now=now):
        try:
            dunning_try(dunning_id=dunning_id)
            made += 1
        except Exception:
            logger.exception("Dunning %s failed", dunning_id)
    dunning_settle_sweep()
    return made
