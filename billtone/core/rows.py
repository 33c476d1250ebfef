"""Model instances from one hand-written SQL query, for the reads every API request makes.

The ORM compiles a queryset's SQL again on every execution: for the bearer token's
five-table lookup that compiling cost more CPU than the rest of the lookup together
(docs/decisions/0014-api-reads-in-one-compiled-query.md). `ModelColumns` lets a selector
write such a query once: the column list comes from the model's fields (a new field joins by
itself), and each value goes through the database backend's converters before
`Model.from_db`, as the ORM itself loads rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections, router
from django.db.models import Model

ROW_ID_MAX = 2**63 - 1  # a row id is a 64-bit integer


def is_row_id(value: int) -> bool:
    """Whether a row could have this id. An id typed into a URL may be any size, and a
    written query hands it to the database as it is: SQLite cannot even compare one beyond
    64 bits (a 500; the ORM's own lookups leave such a value out). The API's paths check it
    once (core.schemas.RowId: a 404); the panel's URLs with `<id:…>` (core.converters);
    ids in bodies and forms reach the written queries that call this."""
    return 0 < value <= ROW_ID_MAX


class ModelColumns:
    """The columns of `model` under a table alias in a SELECT, and the instance a row holds."""

    def __init__(self, model: type[Model], alias: str, *, only: Sequence[str] = ()):
        """`only`: these fields' attnames and the key, no other column; the instance then
        defers the others (reading one is a query of its own: for hot reads whose use of the
        instance is known, where each column is CPU in PostgreSQL and here)."""
        self.model = model
        self.alias = alias
        self.partial = bool(only)
        self.fields = [
            field
            for field in model._meta.concrete_fields
            if not only or field.primary_key or field.attname in only
        ]
        self.names = [field.attname for field in self.fields]
        self.columns = [field.get_col(alias) for field in self.fields]
        self._pk = self.names.index(model._meta.pk.attname)
        self._converters: dict[str, list[list[Callable]]] = {}
        self._updates: dict[tuple[str, tuple[str, ...]], tuple[str, list]] = {}
        self._inserts: dict[tuple[str, int, str, bool], tuple[str, list]] = {}

    @property
    def table(self) -> str:
        return f'"{self.model._meta.db_table}" {self.alias}'

    @property
    def select(self) -> str:
        return ", ".join(f'{self.alias}."{field.column}"' for field in self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def fetch(self, sql: str, params: Sequence[Any]) -> list[Model]:
        """The instances of a query that selects only this model's columns (`self.select`)."""
        using = router.db_for_read(self.model)
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            return [self.instance(row, 0, using=using) for row in cursor.fetchall()]

    def instance(self, row: Sequence[Any], start: int, *, using: str) -> Model | None:
        """The instance in `row[start:start + len(self)]`; None when its key is NULL (a LEFT
        JOIN that found nothing)."""
        values = self.values(row, start, using=using)
        return None if values is None else self.model.from_db(using, self.names, values)

    def values(self, row: Sequence[Any], start: int, *, using: str) -> list[Any] | None:
        """The values of `row[start:start + len(self)]` (`self.names`' order) as the ORM loads
        them, without an instance; None when the key is NULL."""
        connection = connections[using]
        values = list(row[start : start + len(self.fields)])
        if values[self._pk] is None:
            return None
        for i, converters in enumerate(self._converters_for(using)):
            for convert in converters:
                values[i] = convert(values[i], self.columns[i], connection)
        return values

    def insert(self, *instances: Model) -> Model | None:
        """INSERT `instances` (every concrete field but an auto key, each prepared as the ORM's
        save prepares it) in one statement written once per count, and set their keys; returns
        the first. For models whose save() adds nothing to an insert and with no signal
        receivers."""
        if not instances:
            return None
        return self._insert(instances, (len(instances), "", False), ())

    def insert_keyed(self, *instances: Model) -> Model | None:
        """INSERT `instances` as `insert` does, each with the key it already has (one taken
        ahead: rows that refer to it were inserted first, their foreign keys checked at
        commit); returns the first."""
        if not instances:
            return None
        return self._insert(instances, (len(instances), "", True), ())

    def insert_if(self, instance: Model, condition: str, params: Sequence[Any]) -> Model | None:
        """INSERT `instance` as `insert` does, only if SQL `condition` (with `params`) holds in
        the same statement (INSERT … SELECT … WHERE): the instance with its key, or None when
        the condition did not hold and nothing was inserted."""
        return self._insert((instance,), (1, condition, False), params)

    def _insert(
        self, instances: Sequence[Model], shape: tuple[int, str, bool], extra: Sequence[Any]
    ):
        if self.partial:
            raise TypeError("ModelColumns(only=...) reads some columns; insert with all.")
        using = router.db_for_write(self.model)
        connection = connections[using]
        key = (using, *shape)
        count, condition, keyed = shape
        if keyed and any(instance.pk is None for instance in instances):
            raise ValueError(f"insert_keyed: a {self.model.__name__} without its key.")
        if key not in self._inserts:
            auto = None if keyed else self.model._meta.auto_field
            fields = [f for f in self.fields if f is not auto]
            if any(getattr(f, "generated", False) for f in fields):
                raise TypeError(f"{self.model.__name__} has a generated column: use the ORM.")
            self._inserts[key] = (self._insert_sql(fields, count, condition, connection), fields)
        sql, fields = self._inserts[key]
        params = [
            f.get_db_prep_save(f.pre_save(instance, True), connection)
            for instance in instances
            for f in fields
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *extra])
            keys = [row[0] for row in cursor.fetchall()]  # in VALUES order, as bulk_create's
        if not keys:
            return None
        for instance, pk in zip(instances, keys, strict=True):
            instance.pk = pk
            instance._state.adding, instance._state.db = False, using
        return instances[0]

    def update(self, instance: Model, names: Sequence[str]) -> None:
        """UPDATE the columns of fields `names` of `instance` by its key, each prepared as the
        ORM's save(update_fields=…) prepares it, with one statement written once; for models
        whose save() adds nothing to an update and with no signal receivers."""
        using = router.db_for_write(self.model)
        connection = connections[using]
        key = (using, tuple(names))
        if key not in self._updates:
            fields = [self.model._meta.get_field(name) for name in names]
            quote = connection.ops.quote_name
            sets = ", ".join(f"{quote(f.column)} = %s" for f in fields)
            pk = quote(self.model._meta.pk.column)
            sql = f"UPDATE {quote(self.model._meta.db_table)} SET {sets} WHERE {pk} = %s"  # noqa: S608 (names from the model)
            self._updates[key] = (sql, fields)
        sql, fields = self._updates[key]
        params = [f.get_db_prep_save(f.pre_save(instance, False), connection) for f in fields]
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, instance.pk])

    def _insert_sql(self, fields: list, count: int, condition: str, connection) -> str:
        quote = connection.ops.quote_name
        values = ", ".join(["%s"] * len(fields))
        rows = f"VALUES {', '.join([f'({values})'] * count)}"
        if condition:
            rows = f"SELECT {values} WHERE {condition}"

        return (
            f"INSERT INTO {quote(self.model._meta.db_table)} "  # noqa: S608 (names from the model)
            f"({', '.join(quote(f.column) for f in fields)}) "
            f"{rows} RETURNING {quote(self.model._meta.pk.column)}"
        )

    def _converters_for(self, using: str) -> list[list[Callable]]:
        if using not in self._converters:
            connection = connections[using]
            self._converters[using] = [
                connection.ops.get_db_converters(column) + column.get_db_converters(connection)
                for column in self.columns
            ]
        return self._converters[using]
