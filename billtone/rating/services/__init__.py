"""Writes of the rating app, one module per sub-domain; import them from here.

decks.py: rate decks (rate_deck_import, rate_deck_save); ingest.py: CDR ingestion, re-rating
and corrections (cdrs_ingest, cdr_rerate, cdr_correct), with cdr_decide.py (who, what rate)
and cdr_charge.py (the ledger); cdr_lines.py: the lines a CDR file's reader rejected
(cdr_lines_reject); topup.py: auto top-up (settings, the check after a debit of call credit,
settling card top-ups) and the ingestion's hook calls_debited."""

from billtone.rating.services.cdr_lines import cdr_lines_reject
from billtone.rating.services.decks import rate_deck_import, rate_deck_save
from billtone.rating.services.ingest import IngestSummary, cdr_correct, cdr_rerate, cdrs_ingest
from billtone.rating.services.topup import (
    AutoTopUpInput,
    auto_top_up_check,
    auto_top_up_settings_save,
    call_credit_debited,
    calls_debited,
    top_up_settle,
    top_ups_settle_due,
)

__all__ = [
    "AutoTopUpInput",
    "IngestSummary",
    "auto_top_up_check",
    "auto_top_up_settings_save",
    "call_credit_debited",
    "calls_debited",
    "cdr_correct",
    "cdr_lines_reject",
    "cdr_rerate",
    "cdrs_ingest",
    "rate_deck_import",
    "rate_deck_save",
    "top_up_settle",
    "top_ups_settle_due",
]
