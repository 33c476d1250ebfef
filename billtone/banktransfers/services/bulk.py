"""Bank transfers by the thousand, for a statement import: the references a batch of credits
quotes, and receiving the money for many bank transfers at once, by the one rule
(`bank_transfer_arrival`) that `bank_transfer_receive` applies to one.

On PostgreSQL in a few statements (arrays, unnest), where the ORM's per-row cost would be
most of an import's time; elsewhere with the ORM. The suite runs each on its database.
"""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.db import connection

from billtone.banktransfers.models import AccountReference, BankTransfer
from billtone.banktransfers.services.bank_transfers import bank_transfer_arrival
from billtone.core.money import Money
from billtone.core.sql import SPLIT, joined


def references_find(references: Sequence[str]) -> tuple[list[tuple], list[tuple]]:
    """(permanent: (reference, account id), transfers: (reference, id, account id, transfer
    currency, amount)) for those of `references` that exist."""
    if not references:
        return [], []
    if connection.vendor != "postgresql":
        permanent = AccountReference.objects.filter(reference__in=references).values_list(
            "reference", "account_id"
        )
        transfers = BankTransfer.objects.filter(reference__in=references).values_list(
            "reference", "pk", "account_id", "currency", "amount"
        )
        return list(permanent), list(transfers)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT reference, account_id FROM {AccountReference._meta.db_table} "  # noqa: S608
            f"WHERE reference = ANY({SPLIT})",
            [joined(references)],
        )
        permanent = cursor.fetchall()
        cursor.execute(
            "SELECT reference, id, account_id, currency, amount "  # noqa: S608
            f"FROM {BankTransfer._meta.db_table} WHERE reference = ANY({SPLIT})",
            [joined(references)],
        )
        return permanent, cursor.fetchall()


def bank_transfers_receive_many(
    *, received: list[tuple[int, Decimal]], received_at: datetime
) -> int:
    """`bank_transfer_receive` for many (id, amount) at once, in order, by the same rule; a
    bank transfer received already stays as it is (the money still lands: its reference is
    known). Locked in id order, after the ledger accounts, as every caller does; returns how
    many changed."""
    if not received:
        return 0
    transfers = _lock([pk for pk, _ in received])
    changed: dict[int, tuple[str, Decimal]] = {}
    for pk, amount in received:
        status_now, requested, currency = transfers[pk]
        if pk in changed:
            status_now = changed[pk][0]
        arrived = Money(amount, currency)
        status = bank_transfer_arrival(
            status=status_now, requested=Money(requested, currency), arrived=arrived
        )
        if status is not None:
            changed[pk] = (status, arrived.amount)
    _save([(pk, status, amount) for pk, (status, amount) in changed.items()], received_at)
    return len(changed)


def _lock(ids: Sequence[int]) -> dict[int, tuple[str, Decimal, str]]:
    """The transfers' (status, amount, currency) by id, locked in id order."""
    wanted = sorted(set(ids))
    if connection.vendor != "postgresql":
        locked = (
            BankTransfer.objects.select_for_update()
            .filter(pk__in=wanted)
            .order_by("pk")
            .values_list("pk", "status", "amount", "currency")
        )
        return {pk: (status, amount, currency) for pk, status, amount, currency in locked}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, status, amount, currency FROM {BankTransfer._meta.db_table} "  # noqa: S608
            f"WHERE id = ANY({SPLIT}::bigint[]) ORDER BY id FOR UPDATE",
            [joined(wanted)],
        )
        return {pk: (status, amount, currency) for pk, status, amount, currency in cursor}


def _save(changes: Sequence[tuple[int, str, Decimal]], received_at: datetime) -> None:
    """Write (id, status, received amount) of locked transfers, received at `received_at`."""
    if not changes:
        return
    if connection.vendor != "postgresql":
        BankTransfer.objects.bulk_update(
            [
                BankTransfer(pk=pk, status=status, received_amount=amount, received_at=received_at)
                for pk, status, amount in changes
            ],
            ["status", "received_amount", "received_at"],
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {BankTransfer._meta.db_table} AS r SET status = v.status, "  # noqa: S608
            "received_amount = v.amount, received_at = %s "
            f"FROM unnest({SPLIT}::bigint[], {SPLIT}, {SPLIT}::numeric[]) "
            "AS v(id, status, amount) WHERE r.id = v.id",
            [
                received_at,
                joined([pk for pk, _, _ in changes]),
                joined([status for _, status, _ in changes]),
                joined([amount for _, _, amount in changes]),
            ],
        )
