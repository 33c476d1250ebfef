"""Reads of the ledger: balances, statements, and what the customer's panel shows."""

import functools
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import F, QuerySet, Sum

from billtone.accounts.models import Account
from billtone.core import clock, dates
from billtone.core.errors import ValidationFailed
from billtone.core.money import Money, locale_for
from billtone.core.pagination import MAX_PAGE, MAX_PAGE_SIZE, page_check
from billtone.core.rows import ModelColumns
from billtone.ledger.models import (
    AMOUNT_PLACES,
    CUSTOMER_KINDS,
    LedgerAccount,
    LedgerKind,
    Posting,
)

MAX_STATEMENT_DAYS = 366
QUANTUM = Decimal(1).scaleb(-AMOUNT_PLACES)


@dataclass(frozen=True)
class CustomerBalance:
    kind: str
    label: str
    balance: Money
    credit_limit: Money  # how far below zero it may go: zero for business funds
    locale: str

    @property
    def available(self) -> Money:
        return self.balance + self.credit_limit

    @property
    def formatted(self) -> str:
        return self.balance.format(self.locale)


@dataclass(frozen=True)
class StatementLine:
    transaction_id: int
    posted_at: datetime  # in the account's time zone
    kind: str
    description: str  # for a person, written when it was posted (the memo)
    reference: str  # what the customer knows it by (an RF reference); never a gateway's id
    amount: Money
    running_balance: Money


@dataclass(frozen=True)
class Statement:
    kind: str
    currency: str
    timezone: str
    date_from: date
    date_to: date
    opening_balance: Money
    closing_balance: Money
    lines: list[StatementLine]
    count: int
    page: int
    page_size: int

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.count


def _total(postings: QuerySet) -> Decimal:
    # SQLite sums decimals as floats: bring the sum back to the ledger's places (exact on
    # PostgreSQL, which sums numerics exactly).
    total = postings.aggregate(total=Sum("amount"))["total"] or Decimal(0)
    return Decimal(total).quantize(QUANTUM)


def balance_get(*, ledger_account: LedgerAccount, as_of: datetime | None = None) -> Money:
    """The balance now (the cached one), or at the end of instant `as_of` (from postings)."""
    if as_of is None:
        return Money(ledger_account.balance, ledger_account.currency)
    total = _total(ledger_account.postings.filter(created_at__lte=as_of))
    return Money(total, ledger_account.currency)


def _balance_before(*, ledger_account: LedgerAccount, start: datetime) -> Money:
    total = _total(ledger_account.postings.filter(created_at__lt=start))
    return Money(total, ledger_account.currency)


def posting_list(*, ledger_account: LedgerAccount, start: datetime, end: datetime) -> QuerySet:
    """The account's postings in [start, end) in the order they were posted: by id, which is
    the order of balance_after (ids are drawn under the account's lock; created_at is read
    just before it, so two postings a few milliseconds apart may carry times out of order)."""
    return (
        Posting.objects.filter(
            ledger_account=ledger_account, created_at__gte=start, created_at__lt=end
        )
        .select_related("transaction")
        .order_by("id")
    )


def customer_ledger_account_get(*, account: Account, kind: str) -> LedgerAccount | None:
    """The customer's ledger account of `kind` in its billing currency; None before first use."""
    return LedgerAccount.objects.filter(
        account=account, kind=kind, currency=account.billing_profile.currency
    ).first()


def business_funds_free(*, account_ids: Collection[int]) -> dict[int, Decimal]:
    """What each account's business funds, in its billing currency, can pay (balance less
    floor), in one query; an account with no such ledger account yet is missing."""
    rows = LedgerAccount.objects.filter(
        account_id__in=account_ids,
        kind=LedgerKind.BUSINESS_FUNDS,
        currency=F("account__billing_profile__currency"),
    ).values_list("account_id", "balance", "floor")
    return {account_id: balance - (floor or 0) for account_id, balance, floor in rows}


@dataclass(frozen=True)
class Leg:
    """One posting of a transaction, with its ledger account's kind and owner."""

    kind: str
    account_id: int | None  # the customer's; None: the operator's
    amount: Decimal
    currency: str


_LEGS_SQL = """
SELECT a.kind, a.account_id, p.amount, p.currency FROM ledger_posting p
JOIN ledger_ledgeraccount a ON a.id = p.ledger_account_id
WHERE p.transaction_id = %s ORDER BY p.id
"""


def transaction_legs(*, transaction_id: int) -> list[Leg]:
    """The postings of a transaction, in order. Plain SQL on PostgreSQL: every card checkout
    checks its invoice against them, and the ORM's query building cost ten times the round
    trip (decision 0021)."""
    if connection.vendor != "postgresql":
        rows = (
            Posting.objects.filter(transaction_id=transaction_id)
            .order_by("id")
            .values_list("ledger_account__kind", "ledger_account__account_id", "amount", "currency")
        )
        return [Leg(*row) for row in rows]
    with connection.cursor() as cursor:
        cursor.execute(_LEGS_SQL, [transaction_id])
        return [Leg(*row) for row in cursor.fetchall()]


def account_locale(*, account: Account) -> str:
    return locale_for(language=settings.LANGUAGE_CODE, country=account.billing_profile.country)


def customer_balances(*, account: Account) -> list[CustomerBalance]:
    """Business funds and call credit, in the account's currency, zero before first use."""
    currency = account.billing_profile.currency
    locale = account_locale(account=account)
    sql, columns = _customer_ledger_accounts_query()
    rows = {row.kind: row for row in columns.fetch(sql, [account.pk, currency, *CUSTOMER_KINDS])}
    result = []
    for kind in CUSTOMER_KINDS:
        row = rows.get(kind)
        balance = row.balance if row else Decimal(0)
        floor = row.floor if row else Decimal(0)
        result.append(
            CustomerBalance(
                kind=kind.value,
                label=kind.label,
                balance=Money(balance, currency),
                credit_limit=Money(-floor, currency),
                locale=locale,
            )
        )
    return result


@functools.cache
def _customer_ledger_accounts_query() -> tuple[str, ModelColumns]:
    """Every GET /balances runs it: written once (core/rows.py says why)."""
    columns = ModelColumns(LedgerAccount, "l")
    kinds = ", ".join(["%s"] * len(CUSTOMER_KINDS))
    sql = (
        f"SELECT {columns.select} FROM {columns.table}"  # noqa: S608 (names from the models; values are parameters)
        f" WHERE l.account_id = %s AND l.currency = %s AND l.kind IN ({kinds})"
    )
    return sql, columns


def customer_has_postings(*, account: Account, currency: str) -> bool:
    """Whether the ledger holds any posting of the customer in `currency`."""
    return Posting.objects.filter(ledger_account__account=account, currency=currency).exists()


def customer_statement_get(
    *,
    account: Account,
    kind: str,
    date_from: date | None = None,
    date_to: date | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Statement:
    """A statement of business funds or call credit over whole days in the account's time zone
    (both ends included), oldest line first, with the running balance after each line."""
    if kind not in CUSTOMER_KINDS:
        raise ValidationFailed({"kind": ["Choose business_funds or call_credit."]})
    profile = account.billing_profile
    tz = ZoneInfo(profile.timezone)
    page_errors = {}
    if not 1 <= page <= MAX_PAGE or not 1 <= page_size <= MAX_PAGE_SIZE:
        page_errors["page"] = [f"Pages start at 1 and hold 1 to {MAX_PAGE_SIZE} lines."]
    days = dates.days_clean(
        first=date_from,
        last=date_to,
        today=clock.now().astimezone(tz).date(),
        tz=tz,
        max_days=MAX_STATEMENT_DAYS,
        too_long=f"A statement covers at most {MAX_STATEMENT_DAYS} days.",
        other_errors=page_errors,
    )
    date_from, date_to, start, end = days.first, days.last, days.start, days.end
    currency = profile.currency
    ledger_account = customer_ledger_account_get(account=account, kind=kind)
    if ledger_account is None:
        page_check(page=page, page_size=page_size, count=0)
        zero = Money.zero(currency)
        return Statement(
            kind=kind,
            currency=currency,
            timezone=profile.timezone,
            date_from=date_from,
            date_to=date_to,
            opening_balance=zero,
            closing_balance=zero,
            lines=[],
            count=0,
            page=page,
            page_size=page_size,
        )
    postings = posting_list(ledger_account=ledger_account, start=start, end=end)
    opening = _balance_before(ledger_account=ledger_account, start=start)
    period = _total(postings)
    count = postings.count()
    page_check(page=page, page_size=page_size, count=count)
    offset = (page - 1) * page_size
    lines = [
        StatementLine(
            transaction_id=posting.transaction_id,
            posted_at=posting.created_at.astimezone(tz),
            kind=posting.transaction.kind,
            description=posting.transaction.memo,
            reference=posting.transaction.statement_reference,
            amount=Money(posting.amount, currency),
            running_balance=Money(posting.balance_after, currency),
        )
        for posting in postings[offset : offset + page_size]
    ]
    return Statement(
        kind=kind,
        currency=currency,
        timezone=profile.timezone,
        date_from=date_from,
        date_to=date_to,
        opening_balance=opening,
        closing_balance=opening + Money(period, currency),
        lines=lines,
        count=count,
        page=page,
        page_size=page_size,
    )


@dataclass(frozen=True)
class BooksCheck:
    transactions: int
    unbalanced: int  # transactions whose postings do not sum to zero
    balances_off: int  # ledger accounts whose cached balance is not the sum of their postings

    @property
    def ok(self) -> bool:
        return not self.unbalanced and not self.balances_off


def books_check() -> BooksCheck:
    """The ledger's two invariants checked over every posting, for benchmarks and tests after
    heavy concurrent work. Summed in Python: SQLite sums decimals as floats."""
    by_transaction: dict[int, Decimal] = {}
    by_account: dict[int, Decimal] = {}
    postings = Posting.objects.values_list("transaction_id", "ledger_account_id", "amount")
    for transaction_id, ledger_account_id, amount in postings.iterator(chunk_size=20_000):
        by_transaction[transaction_id] = by_transaction.get(transaction_id, 0) + amount
        by_account[ledger_account_id] = by_account.get(ledger_account_id, 0) + amount
    balances = LedgerAccount.objects.values_list("pk", "balance").iterator(chunk_size=20_000)
    return BooksCheck(
        transactions=len(by_transaction),
        unbalanced=sum(1 for total in by_transaction.values() if total),
        balances_off=sum(1 for pk, balance in balances if balance != by_account.get(pk, 0)),
    )
