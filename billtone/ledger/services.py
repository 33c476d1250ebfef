"""Writes to the ledger. Every money move of Billtone goes through transaction_post.

Concurrency (docs/decisions/0004-money-and-ledger.md): the affected ledger accounts' rows are
locked in id order, floors are checked and balances written while the locks are held, all in
one database transaction (billtone/ledger/storage.py); the unique idempotency key decides
races between two posts of the same key.
"""

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from billtone.accounts.models import Account
from billtone.core import clock
from billtone.core.errors import ValidationFailed
from billtone.core.money import Money
from billtone.core.services import Actor, audit_record
from billtone.ledger import hooks, storage
from billtone.ledger.errors import AlreadyReversed, IdempotencyKeyReused, InsufficientFunds
from billtone.ledger.floors import DEFAULT_FLOORS
from billtone.ledger.models import (
    AMOUNT_DIGITS,
    AMOUNT_PLACES,
    CUSTOMER_KINDS,
    LedgerAccount,
    LedgerKind,
    Transaction,
)
from billtone.ledger.storage import ledger_accounts_lock

KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_.]{0,49}$")
QUANTUM = Decimal(1).scaleb(-AMOUNT_PLACES)
LARGEST = Decimal(10) ** (AMOUNT_DIGITS - AMOUNT_PLACES)
STATEMENT_REFERENCE_LIMIT = Transaction._meta.get_field("statement_reference").max_length


@dataclass(frozen=True)
class Leg:
    """One side of a transaction: `amount` (signed, see models) on `ledger_account`."""

    ledger_account: LedgerAccount
    amount: Money


@dataclass(frozen=True)
class CustomerLedger:
    business_funds: LedgerAccount
    call_credit: LedgerAccount


def transaction_clean(
    *,
    kind: str,
    memo: str,
    legs: Sequence[Leg],
    idempotency_key: str,
    external_reference: str,
    statement_reference: str = "",
) -> None:
    """Refuse a transaction that `transaction_post` would refuse, before anything is locked.

    Raises ValidationFailed with every problem at once: kind, memo, key and reference sizes;
    at least two legs, each a non-zero Money of at most AMOUNT_PLACES places in its saved
    ledger account's currency; the legs sum to zero per currency. Writers that store
    transactions their own way (billtone/ledger/bulk.py) call it so that they refuse exactly
    what `transaction_post` refuses.
    """
    errors: dict[str, list[str]] = {}
    if not isinstance(kind, str) or not KIND_PATTERN.match(kind):
        errors["kind"] = ["A lowercase name of at most 50 characters, e.g. top_up."]
    if not isinstance(memo, str) or not memo.strip() or len(memo) > 255:
        errors["memo"] = ["A description of 1 to 255 characters."]
    if not isinstance(idempotency_key, str) or not idempotency_key or len(idempotency_key) > 255:
        errors["idempotency_key"] = ["An idempotency key of 1 to 255 characters."]
    if len(external_reference or "") > 255:
        errors["external_reference"] = ["At most 255 characters."]
    if len(statement_reference or "") > STATEMENT_REFERENCE_LIMIT:
        errors["statement_reference"] = [f"At most {STATEMENT_REFERENCE_LIMIT} characters."]
    if len(legs) < 2:
        errors.setdefault("postings", []).append("A transaction needs at least two postings.")
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for leg in legs:
        amount = leg.amount
        if not isinstance(amount, Money) or not isinstance(leg.ledger_account, LedgerAccount):
            errors.setdefault("postings", []).append("Each posting is a ledger account and Money.")
            continue
        if leg.ledger_account.pk is None:
            errors.setdefault("postings", []).append("A posting needs a saved ledger account.")
        if amount.is_zero():
            errors.setdefault("postings", []).append("A posting moves a non-zero amount.")
        if amount.amount != amount.amount.quantize(QUANTUM) or abs(amount.amount) >= LARGEST:
            errors.setdefault("postings", []).append(
                f"{amount} has more than {AMOUNT_PLACES} decimal places or is too large: "
                "round it first (billtone.core.money)."
            )
        if amount.currency != leg.ledger_account.currency:
            errors.setdefault("postings", []).append(
                f"{amount} cannot be posted to a {leg.ledger_account.currency} ledger account."
            )
        totals[amount.currency] += amount.amount
    unbalanced = sorted(currency for currency, total in totals.items() if total != 0)
    if unbalanced:
        errors.setdefault("postings", []).append(
            f"The postings do not sum to zero in {', '.join(unbalanced)}."
        )
    if errors:
        raise ValidationFailed(errors, detail="The transaction was refused; nothing was posted.")


def transaction_fingerprint(
    *,
    kind: str,
    memo: str,
    legs: Sequence[Leg],
    external_reference: str,
    reverses_id: int | None,
) -> str:
    """The hash of a cleaned transaction's content, stored beside its idempotency key.

    A replay of a key must carry the same fingerprint, or it is refused (IdempotencyKeyReused);
    every writer of transactions (`transaction_post`, billtone/ledger/bulk.py) computes it
    here so that a key posted by one replays in the other. The legs' order does not count.
    """
    postings = sorted(
        (leg.ledger_account.pk, format(leg.amount.amount.quantize(QUANTUM), "f")) for leg in legs
    )
    content = {
        "kind": kind,
        "memo": memo,
        "external_reference": external_reference,
        "reverses": reverses_id,
        "postings": postings,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _replayed(*, idempotency_key: str, fingerprint: str) -> Transaction | None:
    existing = Transaction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None and existing.fingerprint != fingerprint:
        raise IdempotencyKeyReused(idempotency_key)
    return existing


def transaction_post(
    *,
    kind: str,
    memo: str,
    postings: Sequence[Leg],
    idempotency_key: str,
    actor: Actor,
    external_reference: str = "",
    statement_reference: str = "",
    reverses: Transaction | None = None,
    spent_at_once: bool = False,
) -> Transaction:
    """Post a balanced transaction, or refuse it and write nothing.

    `memo` and `statement_reference` are what the customer's statement shows (the poster
    writes them for a person); `external_reference`, the gateway's or bank's id, stays in the
    back office. The statement reference is not part of the fingerprint: it repeats what the
    memo says, and transactions posted before it existed must still replay.

    A replay with the same idempotency key and content returns the first transaction, even
    when its debit would no longer be affordable; the same key with other content raises.

    Business funds credited are told to the funds-credited listeners after commit (hooks.py:
    billing pays open invoices with them), unless `spent_at_once`: the caller spends them in
    its next step (a card checkout), and a listener must not take them first.
    """
    legs = list(postings)
    transaction_clean(
        kind=kind,
        memo=memo,
        legs=legs,
        idempotency_key=idempotency_key,
        external_reference=external_reference,
        statement_reference=statement_reference,
    )
    fingerprint = transaction_fingerprint(
        kind=kind,
        memo=memo,
        legs=legs,
        external_reference=external_reference,
        reverses_id=reverses.pk if reverses else None,
    )
    txn = Transaction(
        kind=kind,
        memo=memo.strip(),
        external_reference=external_reference or "",
        statement_reference=statement_reference or "",
        created_by=actor.label[:200],
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        reverses=reverses,
        created_at=clock.now(),
    )
    rows = [(leg.ledger_account.pk, leg.amount.amount, leg.amount.currency) for leg in legs]
    # No look-up first: the unique key decides. A replay fails to insert its key (or to pass
    # a floor or the one-reversal rule, after its locks) and then returns the first one.
    try:
        stored = _store(txn=txn, rows=rows)
    except (IntegrityError, InsufficientFunds, AlreadyReversed):
        existing = _replayed(idempotency_key=idempotency_key, fingerprint=fingerprint)
        if existing is None:
            raise
        return existing
    if not spent_at_once:
        hooks.funds_credited_note(legs)
    return stored


def _store(*, txn: Transaction, rows: list[storage.Row]) -> Transaction:
    """Store one cleaned transaction (storage.py); raise InsufficientFunds at a floor."""
    if connection.vendor != "postgresql":
        with transaction.atomic():
            storage.post_portable(txn=txn, rows=rows)
        return txn
    # In autocommit (no atomic block open), ledger_post() is one statement and atomic on its
    # own: no BEGIN and COMMIT round trips. Inside a transaction, ledger_post_caught() rolls
    # back its own writes on a refusal: no SAVEPOINT and RELEASE round trips.
    try:
        storage.post_postgres(txn=txn, rows=rows, caught=not connection.get_autocommit())
        return txn
    except IntegrityError as error:
        if not storage.refused_by_floor(error):
            raise
    # The check constraint refused a balance below its floor, and rolled everything back.
    # Decide again with floors.py under the portable path's locks: it explains a refusal
    # (which account, what it holds) or posts what the balances allow by now.
    with transaction.atomic():
        storage.post_portable(txn=txn, rows=rows)
    return txn


def funds_transfer(
    *,
    source: LedgerAccount,
    destination: LedgerAccount,
    amount: Money,
    kind: str,
    memo: str,
    idempotency_key: str,
    actor: Actor,
    external_reference: str = "",
    statement_reference: str = "",
    spent_at_once: bool = False,
) -> Transaction:
    """Move a positive `amount` from `source` (debited) to `destination` (credited);
    `spent_at_once` as in transaction_post."""
    if not isinstance(amount, Money) or amount.amount <= 0:
        raise ValidationFailed({"amount": ["Transfer a positive amount."]})
    if source.pk is not None and source.pk == destination.pk:
        raise ValidationFailed({"destination": ["Transfer to another ledger account."]})
    return transaction_post(
        kind=kind,
        memo=memo,
        postings=[Leg(source, -amount), Leg(destination, amount)],
        idempotency_key=idempotency_key,
        actor=actor,
        external_reference=external_reference,
        statement_reference=statement_reference,
        spent_at_once=spent_at_once,
    )


def transaction_reverse(
    *,
    transaction: Transaction,
    actor: Actor,
    memo: str = "",
    idempotency_key: str = "",
) -> Transaction:
    """Cancel `transaction` with a new one that posts the opposite amounts.

    Refused when the transaction is itself a reversal, is already reversed, or when undoing
    it would take a customer balance below its floor (the money was spent since).
    """
    if transaction.reverses_id is not None:
        raise AlreadyReversed(
            f"Transaction #{transaction.pk} is a reversal; post the original again instead."
        )
    key = idempotency_key or f"reversal-of:{transaction.pk}"
    legs = [
        Leg(posting.ledger_account, Money(-posting.amount, posting.currency))
        for posting in transaction.postings.select_related("ledger_account").order_by("pk")
    ]
    try:
        return transaction_post(
            kind="reversal",
            memo=memo or f"Reversal: {transaction.memo}"[:255],
            postings=legs,
            idempotency_key=key,
            actor=actor,
            external_reference=transaction.external_reference,
            statement_reference=transaction.statement_reference,
            reverses=transaction,
        )
    except IntegrityError:
        # Another key reversed it at the same moment (the one-to-one `reverses` decided).
        raise AlreadyReversed(f"Transaction #{transaction.pk} is already reversed.") from None


def _made(*, account: Account | None, kinds: Sequence[str], currency: str):
    """The ledger accounts of `kinds` in `currency`, the customer's (`account`) or the
    operator's (None), made now or by whoever made them first: one INSERT that skips those
    that exist (no savepoint: nothing is refused), then one read. By kind."""
    now = clock.now()
    LedgerAccount.objects.bulk_create(
        [
            LedgerAccount(
                account=account,
                kind=kind,
                currency=currency,
                floor=DEFAULT_FLOORS[kind] if account is not None else None,
                created_at=now,
            )
            for kind in kinds
        ],
        ignore_conflicts=True,
    )
    rows = LedgerAccount.objects.filter(account=account, currency=currency, kind__in=kinds)
    made = {row.kind: row for row in rows}
    if len(made) != len(set(kinds)):  # SQLite's INSERT OR IGNORE skips any refused row
        raise IntegrityError(f"Ledger accounts not made: {sorted(set(kinds) - set(made))}.")
    return made


def customer_ledger_accounts(*, account: Account) -> CustomerLedger:
    """The customer's business funds and call credit in its billing currency, made on first use."""
    return posting_ledger_accounts(account=account, operator_kinds=())[0]


def operator_ledger_account(*, kind: str, currency: str) -> LedgerAccount:
    """One of the operator's own ledger accounts (no floor), made on first use."""
    return operator_ledger_accounts(kinds=[kind], currency=currency)[kind]


def _operator_kinds_clean(kinds: Sequence[str], currency: str) -> None:
    for kind in kinds:
        if kind in CUSTOMER_KINDS or kind not in LedgerKind.values:
            raise ValidationFailed({"kind": [f"Not an operator ledger account kind: {kind!r}."]})
    Money.zero(currency)  # refuses an unknown currency


def _operator_made(found: dict[str, LedgerAccount], kinds: Sequence[str], currency: str):
    missing = [kind for kind in kinds if kind not in found]
    if missing:
        found |= _made(account=None, kinds=missing, currency=currency)
    return found


def operator_ledger_accounts(*, kinds: Sequence[str], currency: str) -> dict[str, LedgerAccount]:
    """Several of the operator's own ledger accounts by kind, read in one query, each made on
    first use."""
    _operator_kinds_clean(kinds, currency)
    found = {
        row.kind: row
        for row in LedgerAccount.objects.filter(account=None, currency=currency, kind__in=kinds)
    }
    return _operator_made(found, kinds, currency)


_COLUMNS = ["id", "account_id", "kind", "currency", "floor", "balance", "created_at"]
# Plain SQL on PostgreSQL: building this query with the ORM cost ~5 % of a card checkout's
# CPU, which reads it twice (docs/benchmarks.md, decision 0021).
_POSTING_ROWS_SQL = """
SELECT id, account_id, kind, currency, floor, balance, created_at FROM ledger_ledgeraccount
WHERE currency = %s
AND ((account_id = %s AND kind = ANY(%s)) OR (account_id IS NULL AND kind = ANY(%s)))
"""


def _posting_rows(*, account: Account, operator_kinds: Sequence[str], currency: str):
    if connection.vendor != "postgresql":
        return LedgerAccount.objects.filter(
            Q(account=account, kind__in=CUSTOMER_KINDS) | Q(account=None, kind__in=operator_kinds),
            currency=currency,
        )
    customer_kinds = [str(kind) for kind in CUSTOMER_KINDS]
    with connection.cursor() as cursor:
        cursor.execute(
            _POSTING_ROWS_SQL,
            [currency, account.pk, customer_kinds, [str(kind) for kind in operator_kinds]],
        )
        rows = cursor.fetchall()
    return [LedgerAccount.from_db(connection.alias, _COLUMNS, row) for row in rows]


def posting_ledger_accounts(
    *, account: Account, operator_kinds: Sequence[str]
) -> tuple[CustomerLedger, dict[str, LedgerAccount]]:
    """customer_ledger_accounts and operator_ledger_accounts(kinds=operator_kinds) in the
    customer's billing currency, read in one query: what a posting between the customer and
    the operator needs (a card payment, a checkout). Each made on first use."""
    currency = account.billing_profile.currency
    _operator_kinds_clean(operator_kinds, currency)
    customer: dict[str, LedgerAccount] = {}
    operator: dict[str, LedgerAccount] = {}
    for row in _posting_rows(account=account, operator_kinds=operator_kinds, currency=currency):
        (operator if row.account_id is None else customer)[row.kind] = row
    missing = [kind for kind in CUSTOMER_KINDS if kind not in customer]
    if missing:  # the customer's first posting in this currency
        customer |= _made(account=account, kinds=missing, currency=currency)
    ledger = CustomerLedger(
        business_funds=customer[LedgerKind.BUSINESS_FUNDS],
        call_credit=customer[LedgerKind.CALL_CREDIT],
    )
    return ledger, _operator_made(operator, operator_kinds, currency)


@transaction.atomic
def call_credit_limit_set(*, account: Account, limit: Money, actor: Actor) -> LedgerAccount:
    """Let the customer's call credit go down to -limit.

    The limit cannot be set below what is already used (the balance never sits below its
    floor; the database holds that too): to stop further calls, set it to the amount used.
    """
    ledger = customer_ledger_accounts(account=account)
    currency = ledger.call_credit.currency
    if not isinstance(limit, Money) or limit.currency != currency:
        raise ValidationFailed({"limit": [f"Give the limit in {currency}."]})
    if limit.amount < 0 or limit != limit.rounded():
        raise ValidationFailed({"limit": ["A credit limit is zero or more, in whole minor units."]})
    call_credit = ledger_accounts_lock(ids=[ledger.call_credit.pk])[ledger.call_credit.pk]
    if call_credit.balance < -limit.amount:
        used = Money(-call_credit.balance, currency)
        raise ValidationFailed(
            {"limit": [f"{used} of call credit is in use: the limit cannot be lower."]}
        )
    before = -call_credit.floor
    if before != limit.amount:
        call_credit.floor = -limit.amount
        call_credit.save(update_fields=["floor"])
        audit_record(
            actor=actor,
            action="ledger.call_credit_limit_set",
            obj=call_credit,
            account_id=account.pk,
            changes={"credit_limit": [str(before), str(limit.amount)]},
        )
    return call_credit
