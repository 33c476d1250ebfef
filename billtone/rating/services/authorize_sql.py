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
- `holds_open`, `hold_delete`, `hold_insert`: the open holds' sums, a call id's hold gone,
  a new hold.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Context, Decimal

from django.db import connection

from billtone.accounts.models import Account, BillingProfile
from billtone.catalog.models import OperatorProfile, Product
from billtone.core.rows import ModelColumns
from billtone.ledger.models import LedgerAccount, LedgerKind
from billtone.rating.cdr_models import RATE_PLACES, Cdr, EmergencyNumber
from billtone.rating.hold_models import CallHold
from billtone.rating.models import RateDeck
from billtone.telephony.models import AccountSuspension, PhoneUser, PhoneUserStatus


@dataclass(frozen=True)
class AuthorizeContext:
    account: Account  # with its billing_profile
    suspended: bool
    emergency: bool  # the dialled text is an emergency number of the account's country
    deck: RateDeck | None  # in force now in the account's currency
    phone_user: PhoneUser | None  # the caller, with its plan
    billing_day: int | None  # None: no operator profile yet


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@functools.cache
def _context_query() -> tuple[str, tuple[ModelColumns, ...]]:
    account, profile, user, plan, deck = parts = (
        ModelColumns(Account, "a"),
        ModelColumns(BillingProfile, "p"),
        ModelColumns(PhoneUser, "u"),
        ModelColumns(Product, "pl"),
        ModelColumns(RateDeck, "d"),
    )
    decks = _table(RateDeck)
    sql = (
        f"SELECT {', '.join(part.select for part in parts)}, o.billing_day,"  # noqa: S608 (names from the models; values are parameters)
        f" EXISTS (SELECT 1 FROM {_table(AccountSuspension)} s"
        "  WHERE s.account_id = a.id AND s.suspended_at IS NOT NULL),"
        f" EXISTS (SELECT 1 FROM {_table(EmergencyNumber)} e"
        "  WHERE e.number = %s AND e.country IN (p.country, ''))"
        f" FROM {account.table} JOIN {profile.table} ON p.account_id = a.id"
        f" LEFT JOIN {user.table} ON u.account_id = a.id AND u.extension = %s AND u.status <> %s"
        f" LEFT JOIN {plan.table} ON pl.id = u.plan_id"
        f" LEFT JOIN {deck.table} ON d.id = (SELECT d2.id FROM {decks} d2"
        "  WHERE d2.currency = p.currency AND d2.effective_from <= %s"
        "  ORDER BY d2.effective_from DESC LIMIT 1)"
        f" LEFT JOIN {_table(OperatorProfile)} o ON o.id = %s"
        " WHERE a.id = %s"
    )
    return sql, parts


def authorize_context(
    *, account_id: int, dialled: str, extension: str, now: datetime
) -> AuthorizeContext | None:
    """What an authorization reads before it locks (AuthorizeContext), or None: no such account.
    `dialled`: the number as calls.dialled_text cleans it; `extension`: "" for no caller."""
    sql, parts = _context_query()
    params = [
        dialled,
        extension or None,  # NULL matches no user
        PhoneUserStatus.CANCELLED,
        connection.ops.adapt_datetimefield_value(now),
        OperatorProfile.SINGLETON_PK,
        account_id,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    using, start, found = connection.alias, 0, []
    for part in parts:
        found.append(part.instance(row, start, using=using))
        start += len(part)
    account, profile, user, plan, deck = found
    account.billing_profile = profile
    if user is not None:
        user.plan = plan
    billing_day, suspended, emergency = row[start:]
    return AuthorizeContext(account, bool(suspended), bool(emergency), deck, user, billing_day)


_LEDGER = ModelColumns(LedgerAccount, "l")


def call_credit_lock(*, account: Account) -> LedgerAccount | None:
    """The account's call credit in its billing currency, locked till the transaction ends."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    found = _LEDGER.fetch(
        f"SELECT {_LEDGER.select} FROM {_LEDGER.table}"  # noqa: S608 (names from the model)
        " WHERE l.account_id = %s AND l.kind = %s AND l.currency = %s" + lock,
        [account.pk, LedgerKind.CALL_CREDIT, account.billing_profile.currency],
    )
    return found[0] if found else None


def holds_open(*, account_id: int, phone_user_id: int | None, now: datetime) -> tuple[Decimal, int]:
    """The amount the account's open holds keep, and the included seconds the caller's keep."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(amount), 0),"  # noqa: S608 (the table's name from the model)
            " COALESCE(SUM(CASE WHEN phone_user_id = %s THEN included_seconds ELSE 0 END), 0)"
            f" FROM {_table(CallHold)} WHERE account_id = %s AND expires_at > %s",
            [phone_user_id, account_id, connection.ops.adapt_datetimefield_value(now)],
        )
        amount, seconds = cursor.fetchone()
    return _decimal(amount), int(seconds)


def _decimal(value) -> Decimal:
    # SQLite sums decimals as floats: as the ORM does there, to 15 digits and the places.
    if isinstance(value, Decimal):
        return value
    return (
        Context(prec=15)
        .create_decimal_from_float(float(value))
        .quantize(Decimal(1).scaleb(-RATE_PLACES))
    )


def hold_delete(*, account_id: int, call_id: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {_table(CallHold)} WHERE account_id = %s AND call_id = %s",  # noqa: S608
            [account_id, call_id],
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
