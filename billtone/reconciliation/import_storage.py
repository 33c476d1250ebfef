"""How a statement batch is written: with the ORM (any database), or in a few statements on
PostgreSQL (COPY, unnest), where the ORM's per-row cost would be most of an import's time.

Both write the same rows under the same constraints; the test suite runs each on its
database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from django.db import connection

from billtone.banktransfers.models import AccountReference, FundingRequest
from billtone.reconciliation.models import BankEntry


class EntryRow(NamedTuple):
    """A BankEntry as the import stores it; the fields are the model's attribute names."""

    statement_import_id: int
    identity: str
    position: str
    amount: Decimal
    currency: str
    booking_date: date
    value_date: date | None
    payer_name: str
    payer_iban: str
    structured_reference: str
    free_text: str
    end_to_end_id: str
    bank_reference: str
    status: str
    review_reason: str
    reference: str
    account_id: int | None
    funding_request_id: int | None
    suggested_account_id: int | None
    suggested_funding_request_id: int | None
    suggestion_reason: str
    ledger_transaction_id: int | None
    created_at: datetime
    decided_by_label: str = ""
    decision_note: str = ""


def _postgres() -> bool:
    return connection.vendor == "postgresql"


# Lists go to PostgreSQL as one text parameter split there (string_to_array): psycopg adapts
# a Python list element by element, which cost more than the query. US (0x1f) cannot occur in
# identities, references or the numbers joined here.
_US = "\x1f"
_SPLIT = "string_to_array(%s, chr(31))"


def _joined(values) -> str:
    text = _US.join(map(str, values))
    assert text.count(_US) == max(len(values) - 1, 0), "a value holds the separator"
    return text


def entries_insert(rows: Sequence[EntryRow]) -> None:
    """Store new entries; IntegrityError when an identity is stored already (nothing of the
    batch is then kept: the caller's transaction rolls back)."""
    if not rows:
        return
    if not _postgres():
        BankEntry.objects.bulk_create([BankEntry(**row._asdict()) for row in rows], batch_size=500)
        return
    columns = ", ".join(BankEntry._meta.get_field(c).column for c in EntryRow._fields)
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(
            f"COPY {BankEntry._meta.db_table} ({columns}) FROM STDIN"  # noqa: S608
        ) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def identities_stored(identities: Sequence[str]) -> set[str]:
    """Which of these entry identities are stored already."""
    if not identities:
        return set()
    if not _postgres():
        stored = BankEntry.objects.filter(identity__in=identities)
        return set(stored.values_list("identity", flat=True))
    with connection.cursor() as cursor:  # one array parameter: no plan for 2,000 constants
        cursor.execute(
            f"SELECT identity FROM {BankEntry._meta.db_table} "  # noqa: S608
            f"WHERE identity = ANY({_SPLIT})",
            [_joined(identities)],
        )
        return {identity for (identity,) in cursor.fetchall()}


def references_known(references: Sequence[str]) -> tuple[list[tuple], list[tuple]]:
    """(permanent: (reference, account id), requests: (reference, id, account id, request
    currency, amount)) for the references that exist."""
    if not references:
        return [], []
    if not _postgres():
        permanent = AccountReference.objects.filter(reference__in=references).values_list(
            "reference", "account_id"
        )
        requests = FundingRequest.objects.filter(reference__in=references).values_list(
            "reference", "pk", "account_id", "currency", "amount"
        )
        return list(permanent), list(requests)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT reference, account_id FROM {AccountReference._meta.db_table} "  # noqa: S608
            f"WHERE reference = ANY({_SPLIT})",
            [_joined(references)],
        )
        permanent = cursor.fetchall()
        cursor.execute(
            "SELECT reference, id, account_id, currency, amount "  # noqa: S608
            f"FROM {FundingRequest._meta.db_table} WHERE reference = ANY({_SPLIT})",
            [_joined(references)],
        )
        return permanent, cursor.fetchall()


def funding_requests_lock(ids: Sequence[int]) -> dict[int, tuple[str, Decimal, str]]:
    """The requests' (status, amount, currency) by id, locked in id order (after the ledger
    accounts, as every caller does)."""
    wanted = sorted(set(ids))
    if not _postgres():
        locked = (
            FundingRequest.objects.select_for_update()
            .filter(pk__in=wanted)
            .order_by("pk")
            .values_list("pk", "status", "amount", "currency")
        )
        return {pk: (status, amount, currency) for pk, status, amount, currency in locked}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, status, amount, currency FROM {FundingRequest._meta.db_table} "  # noqa: S608
            f"WHERE id = ANY({_SPLIT}::bigint[]) ORDER BY id FOR UPDATE",
            [_joined(wanted)],
        )
        return {pk: (status, amount, currency) for pk, status, amount, currency in cursor}


def funding_requests_save(
    changes: Sequence[tuple[int, str, Decimal]], *, received_at: datetime
) -> None:
    """Write (id, status, received amount) of locked requests, received at `received_at`."""
    if not changes:
        return
    if not _postgres():
        FundingRequest.objects.bulk_update(
            [
                FundingRequest(
                    pk=pk, status=status, received_amount=amount, received_at=received_at
                )
                for pk, status, amount in changes
            ],
            ["status", "received_amount", "received_at"],
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {FundingRequest._meta.db_table} AS r SET status = v.status, "  # noqa: S608
            "received_amount = v.amount, received_at = %s "
            f"FROM unnest({_SPLIT}::bigint[], {_SPLIT}, {_SPLIT}::numeric[]) "
            "AS v(id, status, amount) WHERE r.id = v.id",
            [
                received_at,
                _joined([pk for pk, _, _ in changes]),
                _joined([status for _, status, _ in changes]),
                _joined([amount for _, _, amount in changes]),
            ],
        )


def constraints_check() -> None:
    """Check the batch's deferred constraints (foreign keys) now, not at the import's commit:
    on PostgreSQL the checks then overlap with reading the next batch, and a violation
    surfaces in the batch that made it. SQLite checks at commit."""
    if not _postgres():
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
