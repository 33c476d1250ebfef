"""The invoicing app's writes: issue.py (invoice_issue, in checkout's transaction; or in two
halves, invoice_draft then invoice_draft_issue, numbered last: decision 0034), bills.py
(open invoices issued in bulk by a bill run), payment.py (an open invoice paid from business
funds; a chunk's PDFs and emails), pdfs.py (the PDF after commit), subscriptions.py
(subscription_start, _end, _plan_change), credit_notes.py (credit_note_issue) with
credit_note_documents.py (its PDF and email) and credit_note_refunds.py (its card refund after
commit)."""

from billtone.invoicing.services.bills import OpenInvoiceIn, invoices_issue_open
from billtone.invoicing.services.credit_note_documents import credit_note_pdf_render
from billtone.invoicing.services.credit_note_lines import FULL, CreditLine
from billtone.invoicing.services.credit_note_refunds import card_refundable, credit_note_refund
from billtone.invoicing.services.credit_notes import credit_note_issue, credit_note_number
from billtone.invoicing.services.issue import (
    InvoiceDraft,
    invoice_draft,
    invoice_draft_issue,
    invoice_issue,
    invoice_number,
)
from billtone.invoicing.services.payment import (
    InvoiceFundsShort,
    invoice_amount_due,
    invoice_documents_send,
    invoice_pay_from_funds,
    invoices_pay_from_funds,
)
from billtone.invoicing.services.pdfs import invoice_pdf_render, invoice_pdfs_due
from billtone.invoicing.services.subscriptions import (
    PolicyNotSupported,
    subscription_end,
    subscription_plan_change,
    subscription_start,
)

__all__ = [
    "CreditLine",
    "FULL",
    "InvoiceDraft",
    "InvoiceFundsShort",
    "OpenInvoiceIn",
    "PolicyNotSupported",
    "card_refundable",
    "credit_note_issue",
    "credit_note_number",
    "credit_note_pdf_render",
    "credit_note_refund",
    "invoice_amount_due",
    "invoice_documents_send",
    "invoice_draft",
    "invoice_draft_issue",
    "invoice_issue",
    "invoice_number",
    "invoice_pay_from_funds",
    "invoices_pay_from_funds",
    "invoice_pdf_render",
    "invoice_pdfs_due",
    "invoices_issue_open",
    "subscription_end",
    "subscription_plan_change",
    "subscription_start",
]
