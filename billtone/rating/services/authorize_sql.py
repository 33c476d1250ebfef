"""The statements of one call authorization, each written once (services/authorize.py).

An authorization is on the switch's path before every call, at hundreds a second. Through
the ORM its ten statements cost ~6 ms of CPU in all, nearly all query building (bench/
authorize_cpu.py; docs/decisions/0028): here they are four to six, each written once, as
the API token's lookup (core/rows.py, decision 0014). What they read and lock is unchanged:

- `authorize_context`: the account, its billing profile, whether it is suspended, whether
  the dialled text is one of its country's emergency numbers, the deck in force in its
  currency, the caller (not cancelled) with its plan, the operator's billing day;
- `call_credit_lock`: the account's call-credit ledger row, locked (the row the ingestion
  locks to debit), read as locked;
- `holds_open`, `hold_insert` (and hold_totals.py): the open holds' sums, a call id's hold gone,
  a new hold.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import connection, transaction

from billtone.accounts.models import Account, BillingProfile
from billtone.catalog.models import OperatorProfile, Product, country_set
from billtone.core.rows import ModelColumns
from billtone.ledger.models import LedgerAccount, LedgerKind
from billtone.rating.cdr_models import Cdr, EmergencyNumber
from billtone.rating.hold_models import CallHold, CallHoldSeconds, CallHoldTotal
from billtone.rating.models import RateDeck
from billtone.rating.services.hold_totals import (
    decimal_of,
    hold_delete_by_call_id,
    hold_total_lock_one,
    hold_totals_add,
)
from billtone.telephony.models import AccountSuspension, PhoneUser, PhoneUserStatus


@dataclass(frozen=True)
class Caller:
    """The caller (not cancelled) and its plan's included minutes."""

    phone_user_id: int
    included_minutes: int  # 0: none (or no plan)
    included_scope: str
    included_countries: frozenset[str]


@dataclass(frozen=True)
class Credit:
    """The account's call-credit ledger row, read without a lock."""

    id: int
    currency: str
    floor: Decimal
    balance: Decimal


@dataclass(frozen=True)
class AuthorizeContext:
    """Plain values, not model instances: building six instances was ~5% of the lean
    path's CPU (docs/benchmarks.md, h/authz2)."""

    account_id: int
    country: str  # the billing profile's
    currency: str  # the billing profile's
    timezone: str  # the billing profile's
    suspended: bool
    emergency: bool  # the dialled text is an emergency number of the account's country
    deck: tuple[int, datetime] | None  # (id, created_at) of the deck in force in the currency
    caller: Caller | None
    billing_day: int | None  # None: no operator profile yet
    # What the money looked like, read without a lock (hold_take checks it under one):
    credit: Credit | None  # in the billing currency; None: not made yet
    held: Decimal  # the account's open holds, a repeated call id's own left out
    held_seconds: int  # of them, the included seconds the caller's holds keep
    latest_period: str  # the caller's last billing period with included use (ISO date), or ""
    latest_used: int  # the included seconds its rated calls took in it


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@functools.cache
def _context_query() -> tuple[str, tuple[ModelColumns, ...]]:
    # Only the columns services/authorize.py reads (the rest deferred): 58 columns, most of
    # them names, addresses and timestamps, were a third of this read's CPU in PostgreSQL
    # and in Python's loaders and model constructors (docs/benchmarks.md, h/authz2).
    account, profile, user, plan, deck, credit = parts = (
        ModelColumns(Account, "a", only=["id"]),
        ModelColumns(BillingProfile, "p", only=["country", "currency", "timezone"]),
        ModelColumns(PhoneUser, "u", only=["id"]),
        ModelColumns(
            Product, "pl", only=["included_minutes", "included_scope", "included_countries"]
        ),
        ModelColumns(RateDeck, "d", only=["created_at"]),  # prefix_table's key
        ModelColumns(LedgerAccount, "l", only=["currency", "floor", "balance"]),
    )
    decks, holds, cdrs = _table(RateDeck), _table(CallHold), _table(Cdr)
    # The open holds (decision 0033): the account's and the caller's totals of every hold
    # row, less in one aggregate (always one row) the holds expired and not purged yet and a
    # repeated call id's own, each part on its index (`<> ''`: the unique index's
    # condition); the caller by its extension, as `u` is joined. On PostgreSQL `now` as a
    # subquery, which a custom plan cannot see through either: PostgreSQL estimated no
    # expired hold in a custom plan and a third of the account's in the generic one, so it
    # kept planning the whole read on every call (decision 0031), ~0.9 ms.
    now = "(SELECT %(now)s::timestamptz)" if connection.vendor == "postgresql" else "%(now)s"
    off = (
        "SELECT h.amount, CASE WHEN hu.extension = %(extension)s"  # noqa: S608
        " THEN h.included_seconds ELSE 0 END AS seconds"
        f" FROM {holds} h LEFT JOIN {_table(PhoneUser)} hu ON hu.id = h.phone_user_id"
        "  AND hu.status <> %(cancelled)s WHERE h.account_id = %(account)s AND "
    )
    holds_off = (
        "LEFT JOIN (SELECT COALESCE(SUM(amount), 0) AS amount,"  # noqa: S608
        f" COALESCE(SUM(seconds), 0) AS seconds FROM ({off}h.expires_at <= {now}"
        f"  UNION ALL {off}h.expires_at > {now} AND h.call_id = %(call_id)s"
        "  AND h.call_id <> '') o) ho ON 1 = 1"
    )
    # The caller's latest period with included use and that use: the current period's
    # when the caller has used any in it (authorize compares it with the period it computes).
    latest = f"(SELECT MAX(c2.period_start) FROM {cdrs} c2 WHERE c2.phone_user_id = u.id)"  # noqa: S608
    sql = (
        f"SELECT {', '.join(part.select for part in parts)}, o.billing_day,"  # noqa: S608 (names from the models; values are parameters)
        f" EXISTS (SELECT 1 FROM {_table(AccountSuspension)} s"
        "  WHERE s.account_id = a.id AND s.suspended_at IS NOT NULL),"
        f" EXISTS (SELECT 1 FROM {_table(EmergencyNumber)} e"
        "  WHERE e.number = %(dialled)s AND e.country IN (p.country, '')),"
        " ht.amount, hs.included_seconds, ho.amount, ho.seconds,"
        f" CASE WHEN pl.included_minutes > 0 THEN {latest} END,"
        " CASE WHEN pl.included_minutes > 0 THEN"
        f"  (SELECT COALESCE(SUM(c.included_seconds), 0) FROM {cdrs} c"
        f"   WHERE c.phone_user_id = u.id AND c.period_start = {latest}"
        "   AND c.included_seconds > 0) END"
        f" FROM {account.table} JOIN {profile.table} ON p.account_id = a.id"
        f" LEFT JOIN {user.table} ON u.account_id = a.id AND u.extension = %(extension)s"
        "  AND u.status <> %(cancelled)s"
        f" LEFT JOIN {plan.table} ON pl.id = u.plan_id"
        f" LEFT JOIN {deck.table} ON d.id = (SELECT d2.id FROM {decks} d2"
        "  WHERE d2.currency = p.currency AND d2.effective_from <= %(now)s"
        "  ORDER BY d2.effective_from DESC LIMIT 1)"
        f" LEFT JOIN {_table(OperatorProfile)} o ON o.id = %(operator)s"
        f" LEFT JOIN {credit.table} ON l.account_id = a.id AND l.kind = %(kind)s"
        "  AND l.currency = p.currency"
        f" LEFT JOIN {_table(CallHoldTotal)} ht ON ht.account_id = a.id"
        f" LEFT JOIN {_table(CallHoldSeconds)} hs ON hs.phone_user_id = u.id"
        f" {holds_off}"
        " WHERE a.id = %(account)s"
    )
    return sql, parts


def authorize_context(
    *, account_id: int, dialled: str, extension: str, call_id: str, now: datetime
) -> AuthorizeContext | None:
    """What an authorization reads in its one query (AuthorizeContext), or None: no such
    account. `dialled`: the number as calls.dialled_text cleans it; `extension`: "" for no
    caller; `call_id`: its previous hold is not counted (a new one replaces it)."""
    sql, parts = _context_query()
    params = {
        "dialled": dialled,
        "extension": extension or None,  # NULL matches no user
        "cancelled": PhoneUserStatus.CANCELLED,
        "now": connection.ops.adapt_datetimefield_value(now),
        "call_id": call_id,
        "operator": OperatorProfile.SINGLETON_PK,
        "kind": LedgerKind.CALL_CREDIT,
        "account": account_id,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    using, start, found = connection.alias, 0, []
    for part in parts:
        values = part.values(row, start, using=using)
        found.append(None if values is None else dict(zip(part.names, values, strict=True)))
        start += len(part)
    account, profile, user, plan, deck, credit = found
    billing_day, suspended, emergency, total, seconds, off, off_seconds, latest, used = row[start:]
    caller = None
    if user is not None:
        caller = Caller(
            user["id"],
            plan["included_minutes"] if plan else 0,
            plan["included_scope"] if plan else "",
            country_set(plan["included_countries"]) if plan else frozenset(),
        )
    return AuthorizeContext(
        account["id"],
        profile["country"],
        profile["currency"],
        profile["timezone"],
        bool(suspended),
        bool(emergency),
        (deck["id"], deck["created_at"]) if deck else None,
        caller,
        billing_day,
        Credit(credit["id"], credit["currency"], credit["floor"], credit["balance"])
        if credit
        else None,
        decimal_of(total or 0) - decimal_of(off),
        int(seconds or 0) - int(off_seconds),
        str(latest or ""),
        int(used or 0),
    )


@dataclass(frozen=True)
class HoldTaken:
    hold_id: int | None  # None: the figures below no longer cover the hold asked for
    available: Decimal  # the credit above its floor less the open holds, as locked
    included_left: int  # the caller's included seconds left less its holds'


def hold_take(
    *,
    credit_id: int,
    account_id: int,
    call_id: str,
    phone_user_id: int | None,
    included_total: int,
    period: date | None,
    hold: dict,
    now: datetime,
) -> HoldTaken:
    """Under the call credit's row lock: the call id's previous hold gone, then the hold
    inserted only if the credit (balance above floor less the open holds) and the caller's
    included seconds (`included_total` less the period's use less its holds) still cover
    it. `hold`: _HOLD_COLUMNS' values but the account, call id and created_at; `seconds` 0
    asks only for the figures. One call of rating_hold_take() on PostgreSQL (migration
    0006), the same statements in a transaction elsewhere."""
    values = {**hold, "account_id": account_id, "call_id": call_id, "created_at": now}
    if connection.vendor != "postgresql":
        return _hold_take_portable(credit_id, phone_user_id, included_total, period, values)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT hold_id, available, included_left FROM rating_hold_take(%s::bigint,"
            " %s::bigint, %s::varchar, %s::bigint, %s::integer, %s::date, %s::bigint,"
            " %s::varchar, %s::numeric, %s::varchar, %s::integer, %s::integer,"
            " %s::timestamptz, %s::timestamptz)",
            [credit_id, account_id, call_id, phone_user_id, included_total, period]
            + [values[name] for name in _TAKE_COLUMNS],
        )
        hold_id, available, included_left = cursor.fetchone()
    return HoldTaken(hold_id, available, included_left)


# rating_hold_take()'s parameters after the first six.
_TAKE_COLUMNS = (
    "phone_user_id",
    "destination",
    "amount",
    "currency",
    "seconds",
    "included_seconds",
    "created_at",
    "expires_at",
)


def _hold_take_portable(credit_id, phone_user_id, included_total, period, values) -> HoldTaken:
    account_id = values["account_id"]
    with transaction.atomic():
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        credit = _LEDGER.fetch(
            f"SELECT {_LEDGER.select} FROM {_LEDGER.table} WHERE l.id = %s" + lock,  # noqa: S608
            [credit_id],
        )[0]
        hold_total_lock_one(account_id=account_id)
        if values["call_id"]:
            hold_delete_by_call_id(account_id=account_id, call_id=values["call_id"])
        held, held_seconds = holds_open(
            account_id=account_id, phone_user_id=phone_user_id, now=values["created_at"]
        )
        available = credit.balance - credit.floor - held
        left = 0
        if phone_user_id is not None:
            used = included_used(phone_user_id=phone_user_id, period=period)
            left = max(included_total - used, 0) - held_seconds
        if (
            values["seconds"] > 0
            and values["amount"] <= available
            and values["included_seconds"] <= left
        ):
            hold_id = hold_insert(**values)
            hold_totals_add(
                account_id=account_id,
                phone_user_id=values["phone_user_id"],
                amount=values["amount"],
                seconds=values["included_seconds"],
            )
            return HoldTaken(hold_id, available, left)
    return HoldTaken(None, available, left)


_LEDGER = ModelColumns(LedgerAccount, "l")


def holds_open(*, account_id: int, phone_user_id: int | None, now: datetime) -> tuple[Decimal, int]:
    """The amount the account's open holds keep, and the included seconds the caller's keep:
    their totals less the holds expired and not purged yet (decision 0033)."""
    total, seconds, holds = _table(CallHoldTotal), _table(CallHoldSeconds), _table(CallHold)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT amount FROM {total} WHERE account_id = %s),"  # noqa: S608 (the tables' names from the models)
            f" (SELECT included_seconds FROM {seconds} WHERE phone_user_id = %s),"
            " COALESCE(SUM(amount), 0),"
            " COALESCE(SUM(CASE WHEN phone_user_id = %s THEN included_seconds ELSE 0 END), 0)"
            f" FROM {holds} WHERE account_id = %s AND expires_at <= %s",
            [
                account_id,
                phone_user_id,
                phone_user_id,
                account_id,
                connection.ops.adapt_datetimefield_value(now),
            ],
        )
        amount, held_seconds, expired, expired_seconds = cursor.fetchone()
    return (
        decimal_of(amount or 0) - decimal_of(expired),
        int(held_seconds or 0) - int(expired_seconds),
    )


_HOLD_COLUMNS = (
    "account_id",
    "phone_user_id",
    "destination",
    "call_id",
    "amount",
    "currency",
    "seconds",
    "included_seconds",
    "created_at",
    "expires_at",
)


def hold_insert(**values) -> int:
    """Insert a CallHold of these column values (_HOLD_COLUMNS); its id."""
    ops = connection.ops
    for name in ("created_at", "expires_at"):
        values[name] = ops.adapt_datetimefield_value(values[name])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_table(CallHold)} ({', '.join(_HOLD_COLUMNS)})"  # noqa: S608
            f" VALUES ({', '.join(['%s'] * len(_HOLD_COLUMNS))}) RETURNING id",
            [values[name] for name in _HOLD_COLUMNS],
        )
        return cursor.fetchone()[0]


def included_used(*, phone_user_id: int, period: date) -> int:
    """The included seconds the caller's rated calls of the billing period took."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(included_seconds), 0)"  # noqa: S608
            f" FROM {_table(Cdr)} WHERE phone_user_id = %s AND period_start = %s"
            " AND included_seconds > 0",
            [phone_user_id, connection.ops.adapt_datefield_value(period)],
        )
        return int(cursor.fetchone()[0])
