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


class ModelColumns:
    """The columns of `model` under a table alias in a SELECT, and the instance a row holds."""

    def __init__(self, model: type[Model], alias: str):
        self.model = model
        self.alias = alias
        self.fields = list(model._meta.concrete_fields)
        self.names = [field.attname for field in self.fields]
        self.columns = [field.get_col(alias) for field in self.fields]
        self._pk = self.names.index(model._meta.pk.attname)
        self._converters: dict[str, list[list[Callable]]] = {}

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
        connection = connections[using]
        values = list(row[start : start + len(self.fields)])
        if values[self._pk] is None:
            return None
        for i, converters in enumerate(self._converters_for(using)):
            for convert in converters:
                values[i] = convert(values[i], self.columns[i], connection)
        return self.model.from_db(using, self.names, values)

    def _converters_for(self, using: str) -> list[list[Callable]]:
        if using not in self._converters:
            connection = connections[using]
            self._converters[using] = [
                connection.ops.get_db_converters(column) + column.get_db_converters(connection)
                for column in self.columns
            ]
        return self._converters[using]
