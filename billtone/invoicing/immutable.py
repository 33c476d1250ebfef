"""Rows written once: an issued invoice or credit note is never edited nor deleted; only the
columns a model names in MUTABLE_FIELDS (its PDF, a status) are written afterwards, by
queryset update()."""

from django.db import models

AMOUNT_DIGITS = 20
AMOUNT_PLACES = 4  # the ledger's; invoice amounts hold the currency's minor unit


class ImmutableError(RuntimeError):
    """An issued invoice is never edited or deleted: issue a credit note."""


class ImmutableQuerySet(models.QuerySet):
    """update() may write only the `mutable` columns of the model; delete() never runs."""

    def update(self, **kwargs):
        allowed = getattr(self.model, "MUTABLE_FIELDS", frozenset())
        if not set(kwargs) <= allowed:
            fixed = ", ".join(sorted(set(kwargs) - allowed))
            raise ImmutableError(f"{self.model.__name__}: {fixed} never change once issued.")
        return super().update(**kwargs)

    def delete(self):
        raise ImmutableError(f"{self.model.__name__} rows are never deleted.")


class ImmutableModel(models.Model):
    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableError(f"{type(self).__name__} rows are written once.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableError(f"{type(self).__name__} rows are never deleted.")


def _amount(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES, **kwargs)
