"""Issuing a chunk of accounts' monthly bills in one database transaction
(docs/decisions/0020).

Read in bulk, compute with the engine, write in one transaction: the accounts' active
subscriptions are locked (in id order) first, so a second run billing the same accounts at
the same moment waits, then finds the bills issued (their unique source keys) and skips
them. An account that cannot be billed (a missing tax rate, a broken profile) fails alone
with its reason; should the chunk's write fail as a whole, its accounts are billed again one
by one, so only the one at fault fails.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import transaction

from billtone.accounts.models import BillingProfile
from billtone.billing.engine import (
    BillPlan,
    SubscriptionTerms,
    bill_plan,
    period_due,
    period_key,
)
from billtone.billing.models import BillFailure, BillRun
from billtone.billing.selectors import account_tax, bill_key
from billtone.catalog.selectors import operator_profile_get, tax_rates
from billtone.core import clock
from billtone.core.services import Actor
from billtone.invoicing.models import Invoice, Subscription
from billtone.invoicing.services import OpenInvoiceIn, invoices_issue_open

logger = logging.getLogger(__name__)

EMAIL_TEMPLATE = "billing.bill_issued"


@dataclass
class ChunkIssued:
    """What `bills_issue` did: the invoices it issued, those issued before (still open:
    to collect), and how many accounts were skipped or failed."""

    issued: list[int] = field(default_factory=list)  # invoice ids, new
    open_before: list[int] = field(default_factory=list)  # invoice ids issued before, open
    skipped: int = 0
    failed: int = 0


@dataclass(frozen=True)
class _Bill:
    profile: BillingProfile
    key: str
    plan: BillPlan
    tax: object


def _plans(
    account_ids: Sequence[int], at: datetime, subs: list[Subscription]
) -> tuple[list[_Bill], list[tuple[int, date | None, str]], list[str]]:
    """The bills to issue, the failures (account, period, reason), and the keys of the
    accounts with nothing (more) to bill: their bill may be issued and still open."""
    operator = operator_profile_get()
    rates = tax_rates()
    profiles = {p.account_id: p for p in BillingProfile.objects.filter(account_id__in=account_ids)}
    by_account: dict[int, list[SubscriptionTerms]] = defaultdict(list)
    for row in subs:
        by_account[row.account_id].append(SubscriptionTerms.of(row))
    bills, failures, idle = [], [], []
    for account_id in account_ids:
        period = None
        try:
            profile = profiles.get(account_id)
            if profile is None:
                raise ValueError("The account has no billing profile.")
            period = period_due(at, timezone=profile.timezone, billing_day=operator.billing_day)
            tax = account_tax(profile=profile, operator=operator, rates=rates)
            plan = bill_plan(
                by_account.get(account_id, []), period=period, tax=tax, currency=profile.currency
            )
        except Exception as error:  # one account's problem, named; the others go on
            failures.append((account_id, period, _reason(error)))
            continue
        key = bill_key(account_id=account_id, period=period)
        if plan.is_empty:
            idle.append(key)
        else:
            bills.append(_Bill(profile, key, plan, tax))
    return bills, failures, idle


def _reason(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


def _write(
    *, account_ids: Sequence[int], at: datetime, run_id: int | None, actor: Actor
) -> ChunkIssued:
    result = ChunkIssued()
    with transaction.atomic():
        subs = list(
            Subscription.objects.select_for_update()
            .filter(account_id__in=account_ids, status=Subscription.Status.ACTIVE)
            .order_by("id")
        )
        bills, failures, idle = _plans(account_ids, at, subs)
        # Issued before (another run, or this chunk's first try): skipped, and collected
        # again if still open (the same payment keys: never charged twice).
        existing = {
            key: (pk, status)
            for key, pk, status in Invoice.objects.filter(
                source_key__in=[b.key for b in bills] + idle
            ).values_list("source_key", "pk", "status")
        }
        result.open_before = [pk for pk, status in existing.values() if status == "open"]
        result.skipped = len(idle) + sum(1 for b in bills if b.key in existing)
        bills = [b for b in bills if b.key not in existing]
        invoices = invoices_issue_open(
            invoices=[
                OpenInvoiceIn(
                    profile=b.profile,
                    totals=b.plan.totals,
                    tax=b.tax,
                    legs=[(leg.ledger_kind, leg.amount) for leg in b.plan.legs],
                    source_key=b.key,
                    memo=f"Monthly bill {period_key(b.plan.period)}",
                )
                for b in bills
            ],
            actor=actor,
            email_template=EMAIL_TEMPLATE,
        )
        result.issued = [invoice.pk for invoice in invoices]
        _paid_through_move(bills)
        _failures_record(run_id, failures)
        result.failed = len(failures)
    return result


def _paid_through_move(bills: list[_Bill]) -> None:
    """One UPDATE per new paid_through day (a chunk's bills mostly end on the same day)."""
    by_day: dict[date, list[int]] = defaultdict(list)
    for b in bills:
        for pk, day in b.plan.paid_through.items():
            by_day[day].append(pk)
    for day, ids in by_day.items():
        Subscription.objects.filter(pk__in=ids).update(paid_through=day)


def _failures_record(run_id: int | None, failures: list[tuple[int, date | None, str]]) -> None:
    if not failures:
        return
    for account_id, period, reason in failures:
        logger.warning("Bill of account %s for %s failed: %s", account_id, period, reason)
    if run_id is None:
        return
    now = clock.now()
    BillFailure.objects.bulk_create(
        BillFailure(run_id=run_id, account_id=a, period=p, reason=r, created_at=now)
        for a, p, r in failures
    )


def bills_issue(
    *, account_ids: Sequence[int], at: datetime, run: BillRun | None, actor: Actor
) -> ChunkIssued:
    """Issue the bills of `account_ids` due at `at`, in one transaction; safe to run twice
    and at once (the subscriptions' locks and the unique source keys)."""
    ids = sorted(set(account_ids))
    run_id = run.pk if run else None
    try:
        return _write(account_ids=ids, at=at, run_id=run_id, actor=actor)
    except Exception as error:
        if len(ids) == 1:
            logger.exception("Bill of account %s failed", ids[0])
            _failures_record(run_id, [(ids[0], None, _reason(error))])
            return ChunkIssued(failed=1)
        logger.warning(
            "A chunk of %s accounts failed (%s); billing them one by one", len(ids), error
        )
    result = ChunkIssued()
    for account_id in ids:
        one = bills_issue(account_ids=[account_id], at=at, run=run, actor=actor)
        result.issued += one.issued
        result.open_before += one.open_before
        result.skipped += one.skipped
        result.failed += one.failed
    return result
