"""Telling the apps above the ledger that customers' business funds were credited.

Invoicing pays an account's open invoices from business funds that arrive (decision 0020),
whichever app credited them: a bank transfer received, a statement entry allocated, a card
top-up, a credit note. The ledger cannot import those apps, so they register a listener
from their AppConfig.ready() (as with accounts.money_checks); after the posting's database
transaction commits, each listener is called once with the ids of the customer accounts
whose business funds were credited. A rolled-back posting tells no one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

from django.db import transaction

from billtone.ledger.models import LedgerKind

FundsListener = Callable[[frozenset[int]], None]

_listeners: list[FundsListener] = []


def funds_credited_register(listener: FundsListener) -> None:
    """Call `listener(account_ids)` after every commit that credited business funds."""
    if listener not in _listeners:
        _listeners.append(listener)


def funds_credited_unregister(listener: FundsListener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def _tell(account_ids: frozenset[int]) -> None:
    for listener in list(_listeners):
        listener(account_ids)


def funds_credited_note(legs: Iterable) -> None:
    """Called by the posting code with the legs it just stored (ledger.services.Leg)."""
    if not _listeners:
        return
    account_ids = frozenset(
        leg.ledger_account.account_id
        for leg in legs
        if leg.ledger_account.kind == LedgerKind.BUSINESS_FUNDS and leg.amount.amount > 0
    )
    if account_ids:
        # robust: a listener's failure is logged by Django and never undoes the posting
        transaction.on_commit(partial(_tell, account_ids), robust=True)
