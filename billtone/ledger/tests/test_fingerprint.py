"""A transaction's fingerprint is stored beside its idempotency key: the digest of a content
must never change, or stored keys would stop replaying."""

from decimal import Decimal

from billtone.core.money import Money
from billtone.ledger.models import LedgerAccount
from billtone.ledger.services import Leg, transaction_fingerprint


def leg(pk: int, amount: Decimal) -> Leg:
    return Leg(LedgerAccount(pk=pk, currency="EUR"), Money(amount, "EUR"))


def test_a_bank_transfer_s_digest_is_the_one_stored_before():
    # Computed by the code of every earlier version: stored ones still match.
    assert transaction_fingerprint(
        kind="bank_transfer",
        memo="Bank transfer RF18 5390 0754 7034",
        legs=[leg(1, Decimal("-250.00")), leg(42, Decimal("250.00"))],
        external_reference="BANK-1",
        reverses_id=None,
    ) == ("218d01f6e8c4c5f3ba52018d78c90bf7688f3f684f9cea8dfc00f02cea4ded15")


def test_text_outside_ascii_keeps_its_digest():
    # Computed by the hand-written JSON of session 3 and by json.dumps alike.
    assert transaction_fingerprint(
        kind="refund",
        memo='Grüße "€" \\ line\nbreak\x1f',
        legs=[leg(7, Decimal("12.3")), leg(3, Decimal("-12.3"))],
        external_reference="日本 \U0001f4b6",
        reverses_id=99,
    ) == ("e67f84e7b5cb1f71d631086b103f4b25e70822dad87ed1b94c84e2fbb5f5cad8")
