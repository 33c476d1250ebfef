"""Pricing and debiting a batch's rated calls, inside the caller's database transaction.

The accounts' call credit and the revenue accounts are locked first, in id order (the
ledger's one order), so two batches for one account price one after the other: the included
minutes each finds used, and the credit each finds left, are those the other committed. The
calls of one account are priced in the order they started; the included minutes go first,
then the credit, down to its limit (a call it cannot cover is flagged `credit_short`). Each
account's calls of the batch are one ledger transaction: call credit debited, revenue_calls
credited, posted through `ledger.bulk` for all accounts at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from django.db.models import Sum

from billtone.core import clock
from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.ledger.bulk import BulkSession, BulkTransaction, business_funds_accounts
from billtone.ledger.models import LedgerAccount, LedgerKind
from billtone.ledger.services import Leg, operator_ledger_account
from billtone.rating import calls
from billtone.rating.cdr_models import Cdr
from billtone.rating.models import Rate
from billtone.rating.services.cdr_decide import Context, Pending

TRANSACTION_KIND = "call_charges"


def calls_charge(*, context: Context, key: str, actor: Actor) -> set[int]:
    """Price and debit `context.pending`; returns the ids of the accounts debited.

    `key` names the batch (the ledger's idempotency keys are `<key>:<account id>`). Call it
    inside a database transaction.
    """
    pending = sorted(context.pending, key=lambda p: (p.cdr.started_at, p.cdr.call_id))
    if not pending:
        return set()
    by_account: dict[int, list[Pending]] = defaultdict(list)
    for item in pending:
        by_account[item.payer.pk].append(item)
    credits = _call_credits({item.payer.pk: item.payer.currency for item in pending})
    revenue = {
        currency: operator_ledger_account(kind=LedgerKind.REVENUE_CALLS, currency=currency)
        for currency in {row.currency for row in credits.values()}
    }
    session = BulkSession(actor=actor, keys_new=True)
    locked = session.lock(
        ids=[row.pk for row in credits.values()] + [row.pk for row in revenue.values()]
    )
    _price(pending, billing_day=context.billing_day)
    _rates_link(pending)
    now = clock.now()
    postings: list[BulkTransaction] = []
    debited: list[tuple[int, list[Pending]]] = []
    for account_id, items in by_account.items():
        credit = credits[account_id]
        balance, floor = locked[credit.pk]
        paid = calls.charges_capped([item.cdr.cost for item in items], available=balance - floor)
        for item, part in zip(items, paid, strict=True):
            item.cdr.charged = part
            item.cdr.credit_short = part < item.cdr.cost
            item.cdr.rated_at = now
        total = sum(paid, Decimal(0))
        if total > 0:
            amount = Money(total, credit.currency)
            postings.append(
                BulkTransaction(
                    kind=TRANSACTION_KIND,
                    memo=f"Calls: {len(items)} rated",
                    postings=[Leg(credit, -amount), Leg(revenue[credit.currency], amount)],
                    idempotency_key=f"{key}:{account_id}",
                )
            )
            debited.append((account_id, items))
    if postings:
        with session.batch() as post:
            results = post(postings)
        session.close()
        for (_, items), result in zip(debited, results, strict=True):
            for item in items:
                if item.cdr.charged > 0:
                    item.cdr.transaction_id = result.transaction_id
    return {account_id for account_id, _ in debited}


def _call_credits(currencies: dict[int, str]) -> dict[int, LedgerAccount]:
    """Each account's call credit in its billing currency (`currencies`: account id to
    currency), in a few queries for any number of accounts (made where missing, as
    `customer_ledger_accounts` makes them)."""

    def read(ids) -> dict[int, LedgerAccount]:
        rows = LedgerAccount.objects.filter(account_id__in=ids, kind=LedgerKind.CALL_CREDIT)
        return {row.account_id: row for row in rows if row.currency == currencies[row.account_id]}

    found = read(list(currencies))
    missing = {pk: currency for pk, currency in currencies.items() if pk not in found}
    if missing:
        business_funds_accounts(currencies=missing)  # makes both of a customer's accounts
        found.update(read(list(missing)))
    return found


def _price(pending: Sequence[Pending], *, billing_day: int) -> None:
    """Each call's cost, the included minutes of its user's plan used first."""
    for item in pending:
        item.cdr.period_start = calls.period_start(
            item.cdr.started_at, timezone=item.payer.timezone, billing_day=billing_day
        )
    with_plan = [item for item in pending if item.plan is not None]
    used: dict[tuple[int, object], int] = defaultdict(int)
    if with_plan:
        rows = (
            Cdr.objects.filter(
                phone_user_id__in={item.cdr.phone_user_id for item in with_plan},
                period_start__in={item.cdr.period_start for item in with_plan},
                included_seconds__gt=0,
            )
            .values_list("phone_user_id", "period_start")
            .annotate(seconds=Sum("included_seconds"))
        )
        for user_id, period, seconds in rows:
            used[(user_id, period)] = seconds
    for item in pending:
        cdr = item.cdr
        left = 0
        if item.plan is not None:
            slot = (cdr.phone_user_id, cdr.period_start)
            left = item.plan.included_minutes * 60 - used[slot]
        priced = calls.call_price(item.tariff, cdr.billsec, included_left=left)
        cdr.cost, cdr.included_seconds = priced.cost, priced.included_seconds
        if priced.included_seconds:
            used[(cdr.phone_user_id, cdr.period_start)] += priced.included_seconds


def _rates_link(pending: Sequence[Pending]) -> None:
    """Each rated CDR's Rate row, read in one query."""
    wanted = {(item.deck_id, item.tariff.prefix) for item in pending}
    rows = Rate.objects.filter(
        deck_id__in={deck for deck, _ in wanted}, prefix__in={prefix for _, prefix in wanted}
    ).values_list("deck_id", "prefix", "pk")
    found = {(deck, prefix): pk for deck, prefix, pk in rows}
    for item in pending:
        item.cdr.rate_id = found.get((item.deck_id, item.tariff.prefix))
