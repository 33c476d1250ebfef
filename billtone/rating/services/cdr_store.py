"""A batch's new CDRs inserted once each: ON CONFLICT (call_id) DO NOTHING, in call-id order
(one order for every batch: no deadlock between two), returning how many rows are ours.

On PostgreSQL the rows go in by COPY into a temporary table and one INSERT … SELECT from it:
about a third of the CPU of a multi-row INSERT built by bulk_create (docs/benchmarks.md,
"CDR ingestion"); the INSERT waits, as bulk_create's did, for another transaction's
uncommitted row with the same call id and skips it once that commits.
"""

from __future__ import annotations

import operator

from django.db import connection

from billtone.rating.cdr_models import Cdr

_FIELDS = [f for f in Cdr._meta.concrete_fields if not f.primary_key]
_COLUMNS = ", ".join(connection.ops.quote_name(f.column) for f in _FIELDS)
_NAMES = [f.attname for f in _FIELDS]
_VALUES = operator.attrgetter(*_NAMES)  # a row's values as a tuple, in _COLUMNS' order
_TABLE = Cdr._meta.db_table


class CdrRow:
    """A new CDR as `cdrs_insert` writes it: `Cdr`'s columns as attributes (`account_id`,
    not `account`), each the field's default until set."""

    # A plain object with the defaults on the class, not a `Cdr` instance: building models
    # was ~10 % of a CDR's CPU (docs/benchmarks.md, "CDR ingestion").
    def __init__(self, call_id: str) -> None:
        self.call_id = call_id


for _field in _FIELDS:
    setattr(CdrRow, _field.attname, _field.get_default())


def cdrs_insert(cdrs: list[CdrRow]) -> int:
    """Insert `cdrs` of a new batch (their call ids unique among them); how many were
    inserted."""
    cdrs.sort(key=lambda c: c.call_id)
    if not cdrs:
        return 0
    if connection.vendor != "postgresql":
        Cdr.objects.bulk_create(
            [Cdr(**{name: getattr(row, name) for name in _NAMES}) for row in cdrs],
            batch_size=1000,
            ignore_conflicts=True,
        )
        return Cdr.objects.filter(batch_id__in={c.batch_id for c in cdrs}).count()
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS rating_cdr_in ON COMMIT DELETE ROWS AS "  # noqa: S608
            f"SELECT {_COLUMNS} FROM {_TABLE} WITH NO DATA"
        )
        cursor.execute("TRUNCATE rating_cdr_in")
        with cursor.cursor.copy(f"COPY rating_cdr_in ({_COLUMNS}) FROM STDIN") as copy:
            for cdr in cdrs:
                copy.write_row(_VALUES(cdr))
        cursor.execute(
            f"INSERT INTO {_TABLE} ({_COLUMNS}) SELECT {_COLUMNS} FROM rating_cdr_in "  # noqa: S608
            "ORDER BY call_id ON CONFLICT (call_id) DO NOTHING"
        )
        return cursor.rowcount


_US = chr(31)


def rows_by_call_id(model, ids: list[str], *fields: str) -> list[tuple]:
    """`fields` (names or attnames) of `model`'s rows whose `call_id` is one of `ids`."""
    if not ids:
        return []
    if connection.vendor == "postgresql" and not any(_US in call_id for call_id in ids):
        # One text parameter split by PostgreSQL (as ledger.bulk's keys): the ORM's IN lists
        # of a batch's thousands of call ids cost ~10 µs of Python per CDR.
        quote = connection.ops.quote_name
        columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {columns} FROM {model._meta.db_table} "  # noqa: S608
                "WHERE call_id = ANY(string_to_array(%s, chr(31)))",
                [_US.join(ids)],
            )
            return cursor.fetchall()
    rows: list[tuple] = []
    for n in range(0, len(ids), 2000):
        rows += model.objects.filter(call_id__in=ids[n : n + 2000]).values_list(*fields)
    return rows
