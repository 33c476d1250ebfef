"""Writes of the reconciliation app, split by what they do; import them from here.

- imports: a statement file imported in one transaction (parse, match, credit, store).
- csv_maps: CSV column maps saved per operator bank account, chosen on upload.
- uploads: a file uploaded in the back office, imported by the worker after the request;
  the sweep of uploads whose worker stopped.
- review: staff decide an entry the import could not match (allocate or return).
- funds_emails: the "funds received" emails of an import, stored after it commits.
"""

from billtone.reconciliation.services.csv_maps import (
    CsvMapInput,
    csv_map_clean,
    csv_map_columns,
    csv_map_delete,
    csv_map_save,
)
from billtone.reconciliation.services.funds_emails import (
    funds_received_emails_queue,
    funds_received_emails_queue_due,
    funds_received_emails_schedule,
)
from billtone.reconciliation.services.imports import (
    StatementTooLarge,
    csv_columns_parse,
    statement_import,
    statement_size_check,
)
from billtone.reconciliation.services.review import bank_entry_allocate, bank_entry_return
from billtone.reconciliation.services.uploads import (
    statement_upload_create,
    statement_upload_import,
    statement_uploads_stalled_fail,
)

__all__ = [
    "CsvMapInput",
    "StatementTooLarge",
    "bank_entry_allocate",
    "bank_entry_return",
    "csv_columns_parse",
    "csv_map_clean",
    "csv_map_columns",
    "csv_map_delete",
    "csv_map_save",
    "funds_received_emails_queue",
    "funds_received_emails_queue_due",
    "funds_received_emails_schedule",
    "statement_import",
    "statement_size_check",
    "statement_upload_create",
    "statement_upload_import",
    "statement_uploads_stalled_fail",
]
