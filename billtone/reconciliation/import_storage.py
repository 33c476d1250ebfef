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

from billtone.core.sql import SPLIT, joined
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
    bank_transfer_id: int | None
    suggested_account_id: int | None
    suggested_bank_transfer_id: int | None
    suggestion_reason: str
    ledger_transaction_id: int | None
    created_at: datetime
    decided_by_label: str = ""
    decision_note: str = ""


def _postgres() -> bool:
    return connection.vendor == "postgresql"


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
            f"WHERE identity = ANY({SPLIT})",
            [joined(identities)],
        )
        return {identity for (identity,) in cursor.fetchall()}


def constraints_check() -> None:
    """Check the batch's deferred constraints (foreign keys) now, not at the import's commit:
    on PostgreSQL the checks then overlap with reading the next batch, and a violation
    surfaces in the batch that made it. SQLite checks at commit."""
    if not _postgres():
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
