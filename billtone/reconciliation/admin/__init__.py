"""The operator's back office for reconciliation (Django admin): statement imports, the saved
CSV column maps and the review queue."""

from billtone.reconciliation.admin import csv_maps, imports, review

__all__ = ["csv_maps", "imports", "review"]
