"""Whether money is recorded for an account in a currency: asked before its billing
currency changes (accounts.services.billing_profile_update).

The apps that hold money sit above accounts, so accounts cannot ask them by name. Each
registers its check from its AppConfig.ready() (the ledger its postings, banktransfers the
transfers awaited, payments the card payments still on their way); a new app that holds
money (invoicing, rating) joins the same way, without a change here.
"""

from collections.abc import Callable

from billtone.accounts.models import Account

# check(*, account, currency) -> whether money is recorded or on its way in `currency`
MoneyCheck = Callable[..., bool]

_checks: list[MoneyCheck] = []


def register(check: MoneyCheck) -> MoneyCheck:
    """Ask `check` too before a currency change; registering it again changes nothing."""
    if check not in _checks:
        _checks.append(check)
    return check


def registered() -> tuple[MoneyCheck, ...]:
    return tuple(_checks)


def money_recorded(*, account: Account, currency: str) -> bool:
    """Whether any registered check finds money of the account in `currency`."""
    return any(check(account=account, currency=currency) for check in _checks)
