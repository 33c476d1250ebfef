"""Logging filters for the console."""

import logging


class RefusalsOnOneLine(logging.Filter):
    """A 403 is a refusal the page explains, not a fault: Django logs it with the
    PermissionDenied's traceback, which buried the console under one per refused page.
    Keep the line ("Forbidden (Permission denied): /billing/"), drop the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
