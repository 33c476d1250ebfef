"""Refunds: money leaves the balance first, a refused refund gives it back, never twice."""

from decimal import Decimal

import pytest

from billtone.core.errors import ValidationFailed
from billtone.core.money import Money
from billtone.ledger.errors import InsufficientFunds
from billtone.ledger.models import LedgerAccount, Transaction
from billtone.ledger.services import customer_ledger_accounts, funds_transfer
from billtone.payments import services
from billtone.payments.errors import PaymentKeyReused, PaymentStateConflict
from billtone.payments.gateways.base import RefundResult, RefundStatus
from billtone.payments.gateways.sandbox import SandboxGateway
from billtone.payments.models import Payment

from .conftest import ACTOR, INSUFFICIENT, add_card, charge, new_key


def refund(account, payment, amount: str | None = None, **changes):
    fields = {
        "idempotency_key": new_key("refund"),
        "actor": ACTOR,
        "amount": Money(amount, payment.currency) if amount else None,
    }
    fields.update(changes)
    return services.payment_refund(account=account, payment=payment, **fields)


def funds(account) -> Decimal:
    ledger = customer_ledger_accounts(account=account)
    return LedgerAccount.objects.get(pk=ledger.business_funds.pk).balance


@pytest.fixture
def paid(account, card):
    return charge(account, card, "50.00")


def test_a_full_refund_takes_the_funds_back_to_the_card(account, paid):
    made = refund(account, paid)

    assert made.kind == "refund" and made.status == "succeeded"
    assert made.refund_of == paid and made.card == paid.card
    assert made.money == Money("50.00", "EUR")
    assert made.gateway_reference.startswith("sandbox_re_")
    assert made.ledger_transaction.kind == "card_refund"
    assert funds(account) == 0
    assert LedgerAccount.objects.get(kind="card_clearing").balance == 0


def test_partial_refunds_up_to_what_was_paid(account, paid):
    refund(account, paid, "20.00")
    refund(account, paid, "25.00")

    with pytest.raises(ValidationFailed) as caught:
        refund(account, paid, "5.01")
    assert caught.value.errors == {"amount": ["At most 5.00 EUR of this payment can be refunded."]}

    rest = refund(account, paid)
    assert rest.money == Money("5.00", "EUR") and funds(account) == 0
    with pytest.raises(PaymentStateConflict):
        refund(account, paid)


def test_a_refund_of_spent_funds_is_refused_and_nothing_is_written(account, paid):
    ledger = customer_ledger_accounts(account=account)
    funds_transfer(
        source=ledger.business_funds,
        destination=ledger.call_credit,
        amount=Money("45.00", "EUR"),
        kind="call_credit_topup",
        memo="Call credit",
        idempotency_key="spend",
        actor=ACTOR,
    )
    transactions = Transaction.objects.count()

    with pytest.raises(InsufficientFunds) as caught:
        refund(account, paid, "10.00")

    assert caught.value.slug == "insufficient-funds" and caught.value.status == 409
    assert "Business funds hold 5.00 EUR" in caught.value.detail
    assert not Payment.objects.filter(kind="refund").exists()
    assert Transaction.objects.count() == transactions
    assert funds(account) == Decimal("5.00")


def test_call_credit_is_refunded_only_from_what_it_holds_not_from_its_limit(account, card):
    from billtone.ledger.services import call_credit_limit_set

    call_credit_limit_set(account=account, limit=Money("100.00", "EUR"), actor=ACTOR)
    paid = charge(account, card, "30.00", purpose="call_credit")
    ledger = customer_ledger_accounts(account=account)
    funds_transfer(
        source=ledger.call_credit,
        destination=ledger.business_funds,
        amount=Money("20.00", "EUR"),
        kind="adjustment",
        memo="Used",
        idempotency_key="use",
        actor=ACTOR,
    )

    with pytest.raises(InsufficientFunds):
        refund(account, paid, "10.01")
    assert refund(account, paid, "10.00").status == "succeeded"


def test_the_same_key_is_one_refund(account, paid):
    first = refund(account, paid, "10.00", idempotency_key="r1")
    again = refund(account, paid, "10.00", idempotency_key="r1")

    assert first.pk == again.pk
    assert Payment.objects.filter(kind="refund").count() == 1
    assert funds(account) == Decimal("40.00")
    with pytest.raises(PaymentKeyReused):
        refund(account, paid, "11.00", idempotency_key="r1")


def test_a_refund_the_gateway_refuses_gives_the_money_back(account, paid, monkeypatch):
    def refused(self, *, reference, amount, currency, idempotency_key):
        return RefundResult(RefundStatus.FAILED, "", amount, currency, "charge_disputed", "No.")

    monkeypatch.setattr(SandboxGateway, "charge_refund", refused)

    made = refund(account, paid, "10.00")

    assert made.status == "failed" and made.failure_code == "charge_disputed"
    assert made.ledger_transaction.reversed_by.kind == "reversal"
    assert funds(account) == Decimal("50.00")
    # The failed refund no longer counts against what may be refunded.
    monkeypatch.undo()
    assert refund(account, paid).money == Money("50.00", "EUR")


def test_an_errored_refund_is_settled_by_recovery(account, paid, monkeypatch):
    def unreachable(self, **kwargs):
        raise TimeoutError

    monkeypatch.setattr(SandboxGateway, "charge_refund", unreachable)
    made = refund(account, paid, "10.00")
    assert made.status == "errored" and funds(account) == Decimal("40.00")
    monkeypatch.undo()

    settled = services.payment_recover(payment=made)

    assert settled.status == "succeeded" and settled.gateway_reference.startswith("sandbox_re_")
    assert services.payment_recover(payment=made).status == "succeeded"
    assert funds(account) == Decimal("40.00")
    assert Transaction.objects.filter(kind="card_refund").count() == 1


def test_only_succeeded_charges_are_refunded(account, other_account, paid):
    declined = charge(account, add_card(account, INSUFFICIENT))
    made = refund(account, paid, "1.00")

    for payment in (declined, made):
        with pytest.raises(PaymentStateConflict):
            refund(account, payment)
    from billtone.core.errors import NotFound

    with pytest.raises(NotFound):
        refund(other_account, paid)
