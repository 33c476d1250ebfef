"""The invoicing app's writes: issue.py (invoice_issue, in checkout's transaction), pdfs.py
(the PDF after commit), subscriptions.py (subscription_start)."""

from billtone.invoicing.services.issue import invoice_issue, invoice_number
from billtone.invoicing.services.pdfs import invoice_pdf_render, invoice_pdfs_due
from billtone.invoicing.services.subscriptions import subscription_start

__all__ = [
    "invoice_issue",
    "invoice_number",
    "invoice_pdf_render",
    "invoice_pdfs_due",
    "subscription_start",
]
