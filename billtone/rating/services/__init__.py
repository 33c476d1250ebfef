"""Writes of the rating app, one module per sub-domain; import them from here.

decks.py: rate decks (rate_deck_import, rate_deck_save); ingest.py: CDR ingestion, re-rating
and corrections (cdrs_ingest, cdr_rerate, cdr_correct), with cdr_decide.py (who, what rate)
and cdr_charge.py (the ledger)."""

from billtone.rating.services.decks import rate_deck_import, rate_deck_save
from billtone.rating.services.ingest import IngestSummary, cdr_correct, cdr_rerate, cdrs_ingest

__all__ = [
    "IngestSummary",
    "cdr_correct",
    "cdr_rerate",
    "cdrs_ingest",
    "rate_deck_import",
    "rate_deck_save",
]
