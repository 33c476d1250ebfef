"""Funds pay what is open (docs/decisions/0020): when business funds are credited (a bank
transfer, a card top-up, a credit note), the account's open invoices are paid from them,
oldest first, whole invoices only, stopping at the first one they cannot cover; the rest
stays as funds.

The ledger tells billing after the posting committed (ledger.hooks); the payment runs as a
task (in-process when tasks run eagerly). Each invoice is paid by invoicing's
`invoice_pay_from_funds`: one transaction whose conditional UPDATE (open → paid) lets only one
of two payers at once pay it, and whose ledger floor refuses what funds cannot cover.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from billtone.accounts.models import Account
from billtone.billing.services.dunning import dunning_settle
from billtone.core.services import Actor
from billtone.invoicing.selectors import invoices_open
from billtone.invoicing.services import InvoiceFundsShort, invoice_pay_from_funds

logger = logging.getLogger(__name__)

FUNDS_PAYER = Actor.system("business funds received")


@dataclass
class FundsPaid:
    paid: list[int] = field(default_factory=list)  # invoice ids paid now, oldest first
    left_open: list[int] = field(default_factory=list)


def open_invoices_pay(*, account_id: int, actor: Actor = FUNDS_PAYER) -> FundsPaid:
    """Pay the account's open invoices from its business funds, oldest first, whole ones
    only, stopping at the first one they cannot cover. Safe to run twice and at once."""
    account = Account.objects.filter(pk=account_id).first()
    result = FundsPaid()
    if account is None:
        return result
    ids = list(invoices_open(account=account).values_list("pk", flat=True))
    for position, invoice_id in enumerate(ids):
        try:
            invoice = invoice_pay_from_funds(invoice_id=invoice_id, actor=actor)
        except InvoiceFundsShort:
            result.left_open = ids[position:]
            break
        if invoice.status == invoice.Status.PAID:
            result.paid.append(invoice_id)
    if result.paid:
        logger.info("Account %s: %s open invoices paid from funds", account_id, len(result.paid))
        dunning_settle(account=account, actor=actor)
    return result
