"""The operator's back office for reconciliation (Django admin): statement imports and the
review queue."""

from billtone.reconciliation.admin import imports, review

__all__ = ["imports", "review"]
