"""The ledger's floors, written once: how low a ledger account's balance may go.

A ledger account's `floor` column holds its floor (empty: no floor); a customer's accounts
start at DEFAULT_FLOORS. The rule: a transaction may not take a balance below its floor by a
net debit. Every writer decides with `first_short` and refuses with `insufficient_funds`:
the portable single path (storage.post_portable), the bulk path (bulk.py), and on PostgreSQL
the single path's refusals (services.transaction_post). ledger_post() (migration 0007) has no
floor test of its own: the table's check constraint ledger_balance_not_below_floor (models.py),
the last guard of every path, refuses for it. As no balance is ever below its floor, "a net
debit takes it below" and "the balance after is below" are the same test.
"""

from collections.abc import Iterable, Mapping
from decimal import Decimal

from billtone.core.money import Money
from billtone.ledger.errors import InsufficientFunds
from billtone.ledger.models import LedgerAccount, LedgerKind

CALL_CREDIT_LIMIT_DEFAULT = Decimal(0)

# What a customer's ledger accounts are made with (services.customer_ledger_accounts and
# bulk.business_funds_accounts).
DEFAULT_FLOORS: dict[str, Decimal] = {
    LedgerKind.BUSINESS_FUNDS: Decimal(0),
    LedgerKind.CALL_CREDIT: -CALL_CREDIT_LIMIT_DEFAULT,
}

# The check constraint that refuses a balance below its floor (models.LedgerAccount.Meta).
FLOOR_CONSTRAINT = "ledger_balance_not_below_floor"


def net_changes(legs: Iterable[tuple[int, Decimal]]) -> dict[int, Decimal]:
    """Each ledger account's net change from (ledger account id, signed amount) pairs."""
    net: dict[int, Decimal] = {}
    for pk, amount in legs:
        net[pk] = net.get(pk, Decimal(0)) + amount
    return net


def first_short(
    *,
    net: Mapping[int, Decimal],
    balances: Mapping[int, Decimal],
    floors: Mapping[int, Decimal | None],
) -> int | None:
    """The first ledger account, in id order, whose net debit would cross its floor."""
    for pk in sorted(net):
        change, floor = net[pk], floors[pk]
        if change < 0 and floor is not None and balances[pk] + change < floor:
            return pk
    return None


def insufficient_funds(
    *, ledger_account_id: int, balance: Decimal, debit: Decimal
) -> InsufficientFunds:
    """The refusal of a net `debit` (positive) that `balance` cannot take above its floor."""
    account = LedgerAccount.objects.select_related("account").get(pk=ledger_account_id)
    return InsufficientFunds(
        label=account.get_kind_display() if account.is_customer else str(account),
        balance=Money(balance, account.currency),
        debit=Money(debit, account.currency),
        floor=Money(account.floor, account.currency),
    )
