"""What runs after the call credit was debited for rated calls, once the debit is committed.

`after_debit` is a plain list of callables `(*, account_ids: list[int]) -> None`.
Auto top-up is registered (`rating.services.topup.calls_debited`, in RatingConfig.ready).
Each is called once after commit with the ids of the accounts an ingestion or a re-rating
debited (one call per batch, so a hook reads what it needs for all of them at once); one
that raises is logged and does not stop the others (the debit is committed already and the
hook's own retry policy is its own).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.db import transaction

logger = logging.getLogger("billtone.rating")

after_debit: list[Callable[..., None]] = []


def after_debit_schedule(*, account_ids: Iterable[int]) -> None:
    """Call the `after_debit` hooks with these accounts once the current transaction commits."""
    ids = sorted(set(account_ids))
    if ids:
        transaction.on_commit(lambda: _run(ids))


def _run(account_ids: list[int]) -> None:
    for hook in list(after_debit):
        try:
            hook(account_ids=account_ids)
        except Exception:
            logger.exception("after_debit hook %r failed for accounts %s", hook, account_ids)
