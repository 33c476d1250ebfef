"""Money a card payment puts on business funds to pay one invoice must pay that invoice,
not the oldest open one that the funds-credited listener would pay first. While a payer
holds the account (`funds_held`), the listener's notices for it are kept back; when the
payer is done, one notice goes out, so whatever is left pays the other open invoices."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_held: ContextVar[dict[int, bool] | None] = ContextVar("billing_funds_held", default=None)
_release_to: list[Callable[[frozenset[int]], None]] = []


def release_to(listener: Callable[[frozenset[int]], None]) -> None:
    """Who is told of a held account's funds when it is released (billing's listener, set
    from AppConfig.ready: this module imports nothing of billing's)."""
    _release_to[:] = [listener]


def held_filter(account_ids: frozenset[int]) -> frozenset[int]:
    """The ids not held now; the held ones are noted, to be told when released."""
    held = _held.get()
    if not held:
        return account_ids
    for account_id in account_ids & held.keys():
        held[account_id] = True
    return account_ids - held.keys()


@contextmanager
def funds_held(
    account_id: int, *, release: Callable[[frozenset[int]], None] | None = None
) -> Iterator[None]:
    """Hold the account's funds-credited notices until the block ends (see above)."""
    outer = _held.get()
    held = dict(outer or {})
    if account_id in held:  # held already by an outer payer: it releases
        yield
        return
    held[account_id] = False
    token = _held.set(held)
    try:
        yield
    finally:
        noted = held[account_id]
        _held.reset(token)
        if noted:
            for listener in [release] if release else _release_to:
                listener(frozenset({account_id}))
