"""How services.transaction_post stores a checked transaction: lock, check, write.

The steps: lock the ledger accounts in id order; refuse a second reversal of a transaction;
refuse a net debit that would take a balance below its floor (billtone/ledger/floors.py);
insert the transaction and its postings, each with the balance after it; write the new
balances. Two implementations:

- portable, with the ORM, inside the caller's atomic block (SQLite, the reference, and on
  PostgreSQL the second look at a refusal by a floor);
- PostgreSQL, one call of the ledger_post() function (migration 0008) that does the same in
  one statement, so that outside an atomic block a transfer is one round trip in autocommit
  instead of seven; there the table's check constraint refuses a balance below its floor.
  The ORM's query building cost three times the CPU of everything else in the ledger's hot
  path (docs/benchmarks.md).

The test suite runs each on its database; the constraints and triggers hold under both.
"""

from decimal import Decimal

from django.db import IntegrityError, connection

from billtone.core.errors import ValidationFailed
from billtone.ledger import floors
from billtone.ledger.errors import AlreadyReversed
from billtone.ledger.models import LedgerAccount, Posting, Transaction

Row = tuple[int, Decimal, str]  # ledger account id, signed amount, currency


def ledger_accounts_lock(*, ids) -> dict[int, LedgerAccount]:
    """Lock ledger accounts in id order (the one order every caller uses: no deadlocks)."""
    rows = LedgerAccount.objects.select_for_update().filter(pk__in=sorted(set(ids))).order_by("pk")
    return {row.pk: row for row in rows}


def post_portable(*, txn: Transaction, rows: list[Row]) -> None:
    """Store `txn` and its postings; the caller holds an atomic block. Raises
    InsufficientFunds at a floor."""
    accounts = ledger_accounts_lock(ids=(pk for pk, _, _ in rows))
    if len(accounts) != len({pk for pk, _, _ in rows}):
        raise ValidationFailed({"postings": ["A ledger account of this transaction is gone."]})
    if (
        txn.reverses_id is not None
        and Transaction.objects.filter(reverses=txn.reverses_id).exists()
    ):
        raise AlreadyReversed(f"Transaction #{txn.reverses_id} is already reversed.")
    balances = {pk: account.balance for pk, account in accounts.items()}
    net = floors.net_changes((pk, amount) for pk, amount, _ in rows)
    short = floors.first_short(
        net=net, balances=balances, floors={pk: a.floor for pk, a in accounts.items()}
    )
    if short is not None:
        raise floors.insufficient_funds(
            ledger_account_id=short, balance=balances[short], debit=-net[short]
        )

    txn.save()
    postings = []
    for pk, amount, currency in rows:
        balances[pk] += amount
        postings.append(
            Posting(
                transaction=txn,
                ledger_account_id=pk,
                amount=amount,
                currency=currency,
                balance_after=balances[pk],
                created_at=txn.created_at,
            )
        )
    # One INSERT for all legs (on PostgreSQL bulk_create does not split a batch): the balance
    # trigger (migration 0005) checks each statement, so the legs may not be split.
    Posting.objects.bulk_create(postings)
    for pk, change in net.items():
        if change:
            LedgerAccount.objects.filter(pk=pk).update(balance=balances[pk])


POST_SQL = """
SELECT posted_id, already_reversed FROM ledger_post(
    %s::varchar, %s::varchar, %s::varchar, %s::varchar, %s::varchar, %s::varchar,
    %s::bigint, %s::timestamptz, %s::varchar, %s::bigint[], %s::numeric[], %s::varchar[],
    %s::bigint[], %s::numeric[]
)
"""


# ledger_post() with its constraint refusals returned, not raised (migration 0010).
POST_CAUGHT_SQL = POST_SQL.replace(
    "SELECT posted_id, already_reversed FROM ledger_post(",
    "SELECT posted_id, already_reversed, refused_state, refused_constraint, refused_message "
    "FROM ledger_post_caught(",
)


class RefusedByConstraint(IntegrityError):
    """A refusal ledger_post_caught() returned: the IntegrityError ledger_post() raised, after
    the function rolled back its own writes (the caller's transaction stays usable)."""

    def __init__(self, state: str, constraint: str | None, message: str):
        super().__init__(message)
        self.state, self.constraint_name = state, constraint


def post_postgres(*, txn: Transaction, rows: list[Row], caught: bool = False) -> None:
    """Store `txn` and its postings with ledger_post(): one statement, atomic on its own.

    A balance below its floor is refused by the table's check constraint: an IntegrityError
    that `refused_by_floor` recognises (the caller takes a second look: services.py).
    `caught`: inside the caller's transaction, with no savepoint around the call:
    ledger_post_caught() rolls back its own writes on a refusal by a constraint, which is
    raised here as RefusedByConstraint.
    """
    net = sorted(floors.net_changes((pk, amount) for pk, amount, _ in rows).items())
    with connection.cursor() as cursor:
        cursor.execute(
            POST_CAUGHT_SQL if caught else POST_SQL,
            [
                txn.kind,
                txn.memo,
                txn.external_reference,
                txn.created_by,
                txn.idempotency_key,
                txn.fingerprint,
                txn.reverses_id,
                txn.created_at,
                txn.statement_reference,
                [pk for pk, _, _ in rows],
                [amount for _, amount, _ in rows],
                [currency for _, _, currency in rows],
                [pk for pk, _ in net],  # in id order: the order the function locks them in
                [change for _, change in net],
            ],
        )
        posted_id, already_reversed, *refused = cursor.fetchone()
    if refused and refused[0] is not None:
        raise RefusedByConstraint(*refused)
    if already_reversed:
        raise AlreadyReversed(f"Transaction #{txn.reverses_id} is already reversed.")
    txn.pk = posted_id
    txn._state.adding = False
    txn._state.db = connection.alias


def refused_by_floor(error: IntegrityError) -> bool:
    """Whether the database refused a write for a balance below its floor."""
    if isinstance(error, RefusedByConstraint):
        return error.constraint_name == floors.FLOOR_CONSTRAINT
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) == floors.FLOOR_CONSTRAINT
