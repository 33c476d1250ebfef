"""Call detail records as switches write them, read into `CallRecord`s (pure, no database).

Like `reconciliation/statements/`: parsers here know file layouts, nothing of accounts or
rates; the ingestion service (`rating.services`) decides who a call belongs to and rates it.
"""

from billtone.rating.cdrs.records import CallRecord, Disposition

__all__ = ["CallRecord", "Disposition"]
