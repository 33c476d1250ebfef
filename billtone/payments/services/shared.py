"""What charges and refunds both use: the system actor, when an unknown outcome is stale,
and which of the customer's ledger accounts a payment credits."""

from datetime import timedelta

from billtone.accounts.models import Account
from billtone.core.errors import ValidationFailed
from billtone.core.services import Actor
from billtone.ledger.models import LedgerAccount
from billtone.ledger.services import CustomerLedger, customer_ledger_accounts
from billtone.payments.models import PaymentPurpose

SYSTEM = Actor.system("payments")
# A pending payment younger than this may still be waiting for the gateway's answer.
RECOVER_AFTER = timedelta(minutes=5)


def purpose_ledger_account(
    *, account: Account, purpose: str, ledger: CustomerLedger | None = None
) -> LedgerAccount:
    """The customer's ledger account that a payment for `purpose` credits (of `ledger` when
    the caller has read it already)."""
    ledger = ledger or customer_ledger_accounts(account=account)
    if purpose == PaymentPurpose.BUSINESS_FUNDS:
        return ledger.business_funds
    if purpose == PaymentPurpose.CALL_CREDIT:
        return ledger.call_credit
    raise ValidationFailed({"purpose": [f"Card payments cannot pay for {purpose!r} yet."]})
