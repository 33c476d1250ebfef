"""The running totals of the call holds (decision 0033): what an authorization reads instead
of summing every open hold of the account.

`CallHoldTotal` (per account: the holds' amounts) and `CallHoldSeconds` (per caller: their
included seconds) count every hold row, expired or not; a reader subtracts the few expired
and not purged yet. The account's `CallHoldTotal` row is its hold lock: a writer of the
account's holds locks it (after the call-credit ledger row, when it takes that; several
accounts' in account id order) and changes the totals in the same transaction as the rows.
The writers: `rating_hold_take()` (rating migration 0008) and `authorize_sql.hold_take`'s
portable path, `holds_release` (the CDR ingestion) and `call_holds_purge`, through
`hold_totals_lock` and `holds_delete` here. `call_hold_totals_rebuild`, run after each
purge, puts right a total a writer outside these kept wrong (a manual DELETE, a server of
the previous release during a deploy) and says so in the log.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from decimal import Context, Decimal

from django.db import connection, transaction
from django.db.models import F, Sum

from billtone.rating.cdr_models import RATE_PLACES
from billtone.rating.hold_models import CallHold, CallHoldSeconds, CallHoldTotal

log = logging.getLogger(__name__)
_ZERO = Decimal(0)


def decimal_of(value) -> Decimal:
    """A sum or amount as the database gave it, as a Decimal: SQLite gives decimals as floats
    (as the ORM does there, to 15 digits and the places)."""
    if isinstance(value, Decimal):
        return value
    return (
        Context(prec=15)
        .create_decimal_from_float(float(value))
        .quantize(Decimal(1).scaleb(-RATE_PLACES))
    )


def hold_totals_lock(*, account_ids: Iterable[int]) -> dict[int, CallHoldTotal]:
    """The accounts' hold locks taken, in account id order, inside the caller's transaction;
    their totals rows (an account that never held has none, and no holds)."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    rows = CallHoldTotal.objects.select_for_update().filter(account_id__in=ids)
    return {row.account_id: row for row in rows.order_by("account_id")}


def hold_total_lock_one(*, account_id: int) -> CallHoldTotal:
    """The account's hold lock, its totals row made on first use."""
    found = hold_totals_lock(account_ids=[account_id]).get(account_id)
    if found is None:
        CallHoldTotal.objects.bulk_create(
            [CallHoldTotal(account_id=account_id)], ignore_conflicts=True
        )
        found = hold_totals_lock(account_ids=[account_id])[account_id]
    return found


def holds_delete(*, pks: Iterable[int], expired_before=None) -> int:
    """Delete these holds (those of them expired at `expired_before`, if given) and take them
    off their totals; how many. The caller holds their accounts' hold locks (hold_totals_lock)
    in its transaction; a hold another transaction deleted first is not counted twice."""
    pks = list(pks)
    if not pks:
        return 0
    where, params = "id IN (" + ", ".join(["%s"] * len(pks)) + ")", pks
    if expired_before is not None:
        where += " AND expires_at <= %s"
        params = [*pks, connection.ops.adapt_datetimefield_value(expired_before)]
    return _deleted_subtract(where, params)


def hold_delete_by_call_id(*, account_id: int, call_id: str) -> None:
    """The account's hold for this call id deleted and taken off its totals (under its hold
    lock)."""
    # `<> ''`: the unique index's condition, so that a generic plan uses it (decision 0031).
    _deleted_subtract("account_id = %s AND call_id = %s AND call_id <> ''", [account_id, call_id])


def _deleted_subtract(where: str, params: list) -> int:
    table = connection.ops.quote_name(CallHold._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE {where}"  # noqa: S608 (the table's name from the model)
            " RETURNING account_id, phone_user_id, amount, included_seconds",
            params,
        )
        rows = cursor.fetchall()
    amounts: dict[int, Decimal] = defaultdict(Decimal)
    seconds: dict[int, int] = defaultdict(int)
    for account_id, phone_user_id, amount, included in rows:
        amounts[account_id] += decimal_of(amount)
        if phone_user_id is not None and included:
            seconds[phone_user_id] += included
    _totals_subtract(amounts, seconds)
    return len(rows)


def hold_totals_add(*, account_id: int, phone_user_id: int | None, amount: Decimal, seconds: int):
    """A new hold of the account (and caller) counted in its totals, under its hold lock
    (its totals row made: hold_total_lock_one)."""
    CallHoldTotal.objects.filter(account_id=account_id).update(amount=F("amount") + amount)
    if phone_user_id is None or not seconds:
        return
    updated = CallHoldSeconds.objects.filter(phone_user_id=phone_user_id).update(
        included_seconds=F("included_seconds") + seconds
    )
    if not updated:
        CallHoldSeconds.objects.create(phone_user_id=phone_user_id, included_seconds=seconds)


def _totals_subtract(amounts: dict[int, Decimal], seconds: dict[int, int]) -> None:
    # One statement per table for any number of accounts (bulk_update's CASE), from the rows
    # as the hold locks hold them; never below 0 (a total a writer outside kept wrong is put
    # right by call_hold_totals_rebuild).
    totals = list(CallHoldTotal.objects.filter(account_id__in=[a for a, v in amounts.items() if v]))
    for row in totals:
        row.amount = max(row.amount - amounts[row.account_id], _ZERO)
    CallHoldTotal.objects.bulk_update(totals, ["amount"])
    if not seconds:
        return
    found = {row.phone_user_id: row for row in CallHoldSeconds.objects.filter(pk__in=list(seconds))}
    for user_id, value in seconds.items():
        row = found.get(user_id)
        if row is not None:
            row.included_seconds = max(row.included_seconds - value, 0)
    CallHoldSeconds.objects.bulk_update(list(found.values()), ["included_seconds"])


def call_hold_totals_rebuild(*, account_ids: Iterable[int] | None = None) -> int:
    """Each total that differs from its rows' sum set to it, under its account's hold lock;
    how many accounts were put right (0 unless a writer outside decision 0033's wrote)."""
    wrong = _accounts_wrong(None if account_ids is None else set(account_ids))
    for account_id in sorted(wrong):
        with transaction.atomic():
            total = hold_total_lock_one(account_id=account_id)
            holds = CallHold.objects.filter(account_id=account_id)
            total.amount = decimal_of(holds.aggregate(s=Sum("amount"))["s"] or 0)
            total.save(update_fields=["amount"])
            sums = dict(
                holds.filter(phone_user__isnull=False)
                .values_list("phone_user_id")
                .annotate(s=Sum("included_seconds"))
            )
            users = CallHoldSeconds.objects.filter(phone_user__account_id=account_id)
            users.exclude(phone_user_id__in=list(sums)).update(included_seconds=0)
            for user_id, value in sums.items():
                CallHoldSeconds.objects.update_or_create(
                    phone_user_id=user_id, defaults={"included_seconds": value}
                )
    if wrong:
        log.warning("call hold totals put right for accounts %s", sorted(wrong))
    return len(wrong)


def _accounts_wrong(only: set[int] | None) -> set[int]:
    """The accounts whose totals differ from their rows' sums (read without locks: those
    found are read again under the lock)."""
    holds, totals = CallHold.objects.all(), CallHoldTotal.objects.all()
    users = CallHoldSeconds.objects.all()
    if only is not None:
        holds = holds.filter(account_id__in=only)
        totals = totals.filter(account_id__in=only)
        users = users.filter(phone_user__account_id__in=only)
    amounts = {
        a: decimal_of(s)
        for a, s in holds.values_list("account_id").annotate(s=Sum("amount")).order_by()
    }
    kept = dict(totals.values_list("account_id", "amount"))
    wrong = {a for a in amounts.keys() | kept.keys() if amounts.get(a, _ZERO) != kept.get(a, _ZERO)}
    seconds = {
        (a, u): s
        for a, u, s in holds.filter(phone_user__isnull=False)
        .values_list("account_id", "phone_user_id")
        .annotate(s=Sum("included_seconds"))
        .order_by()
    }
    kept_seconds = {
        (a, u): s
        for a, u, s in users.values_list(
            "phone_user__account_id", "phone_user_id", "included_seconds"
        )
    }
    for key in seconds.keys() | kept_seconds.keys():
        if seconds.get(key, 0) != kept_seconds.get(key, 0):
            wrong.add(key[0])
    return wrong
