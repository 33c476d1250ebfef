"""What runs after the call credit was debited for rated calls, once the debit is committed.

`after_debit` is a plain list of callables `(*, account_id: int) -> None`, empty by default.
The lead connects auto top-up here at merge (`rating.services.topup.call_credit_debited`);
nothing else is registered. Each is called after commit, once per account debited by an
ingestion or a re-rating; one that raises is logged and does not stop the others (the debit
is committed already and the hook's own retry policy is its own).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.db import transaction

logger = logging.getLogger("billtone.rating")

after_debit: list[Callable[..., None]] = []


def after_debit_schedule(*, account_ids: Iterable[int]) -> None:
    """Call the `after_debit` hooks for each account once the current transaction commits."""
    ids = sorted(set(account_ids))
    if ids:
        transaction.on_commit(lambda: _run(ids))


def _run(account_ids: list[int]) -> None:
    for account_id in account_ids:
        for hook in list(after_debit):
            try:
                hook(account_id=account_id)
            except Exception:
                logger.exception("after_debit hook %r failed for account %s", hook, account_id)
