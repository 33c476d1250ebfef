"""Staff decisions on entries in review: allocate to an account, or mark returned."""

from decimal import Decimal

import pytest
from django.core import mail

from billtone.banktransfers.models import BankTransfer
from billtone.banktransfers.references import reference_format
from billtone.core.errors import Conflict, ValidationFailed
from billtone.core.models import AuditEntry
from billtone.core.services import Actor
from billtone.ledger.models import Posting, Transaction
from billtone.notifications.models import EmailDelivery
from billtone.notifications.services import email_render
from billtone.reconciliation.credits import ledger_key
from billtone.reconciliation.models import BankEntry
from billtone.reconciliation.services.imports import statement_import
from billtone.reconciliation.services.review import bank_entry_allocate, bank_entry_return
from billtone.reconciliation.tests.importing import STAFF, Credit, camt053, customer_make

OPERATOR = Actor(label="operator staff", user_id=None)


@pytest.fixture
def in_review(tmp_path, customer):
    """A payment of 240.00 that forgot its reference, in review."""
    statement_import(
        source=camt053(tmp_path, Credit("240.00", ustrd=("top-up for acme",), bank_ref="B-9")),
        actor=STAFF,
    )
    return BankEntry.objects.get(status=BankEntry.Status.REVIEW)


def nothing_credited(customer):
    assert customer.funds == 0
    assert not Transaction.objects.exists() and not Posting.objects.exists()
    assert not EmailDelivery.objects.filter(key__startswith="funds-received:").exists()


def test_allocating_credits_the_account_and_keeps_an_audit_entry(
    in_review, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        entry = bank_entry_allocate(
            entry_id=in_review.pk, account=customer.account, actor=OPERATOR, note="Phoned Acme"
        )

    assert entry.status == BankEntry.Status.ALLOCATED and entry.account == customer.account
    assert entry.decided_by_label == "operator staff" and entry.decided_at is not None
    assert entry.decision_note == "Phoned Acme"
    assert customer.funds == Decimal("240.00")
    txn = entry.ledger_transaction
    assert txn.idempotency_key == ledger_key(entry.identity) and txn.kind == "bank_transfer"
    assert txn.external_reference == "B-9"
    audit = AuditEntry.objects.get(action="bank_entry.allocate")
    assert audit.object_id == str(entry.pk) and audit.account_id == customer.account.pk
    assert audit.changes["status"] == ["review", "allocated"]
    assert audit.changes["amount"] == [None, "240.00"]
    assert audit.changes["note"] == ["", "Phoned Acme"]
    (sent,) = [m for m in mail.outbox if m.subject.startswith("Funds received")]
    assert sent.to == [customer.account.billing_profile.billing_email]
    assert "€240.00" in sent.body
    # the request stays open: staff did not pick it
    assert BankTransfer.objects.get(pk=customer.request.pk).status == "awaiting_funds"


def test_allocating_to_a_request_marks_it_received_with_what_arrived(in_review, customer):
    entry = bank_entry_allocate(
        entry_id=in_review.pk,
        account=customer.account,
        bank_transfer=customer.request,
        actor=OPERATOR,
    )

    request = BankTransfer.objects.get(pk=customer.request.pk)
    assert request.status == BankTransfer.Status.RECEIVED_DIFFERENT_AMOUNT
    assert request.received_amount == Decimal("240.00")
    assert entry.bank_transfer == request and customer.funds == Decimal("240.00")
    _, email = email_render(delivery=EmailDelivery.objects.get(key__startswith="funds-received:"))
    assert "You asked for:   €250.00 (the amount that arrived differs" in email.body_text
    assert "Amount received: €240.00" in email.body_text
    assert f"Reference:       {reference_format(request.reference)}" in email.body_text


def test_an_entry_is_allocated_once(in_review, customer, make_account):
    bank_entry_allocate(entry_id=in_review.pk, account=customer.account, actor=OPERATOR)
    other = make_account("Initech GmbH")

    with pytest.raises(Conflict):
        bank_entry_allocate(entry_id=in_review.pk, account=other, actor=OPERATOR)
    with pytest.raises(Conflict):
        bank_entry_return(entry_id=in_review.pk, actor=OPERATOR)

    assert customer.funds == Decimal("240.00")
    assert Transaction.objects.count() == 1
    assert BankEntry.objects.get(pk=in_review.pk).account == customer.account


def test_a_matched_entry_cannot_be_allocated_again(tmp_path, customer, make_account):
    statement_import(
        source=camt053(tmp_path, Credit("250.00", ref=customer.request.reference)), actor=STAFF
    )
    matched = BankEntry.objects.get()

    with pytest.raises(Conflict):
        bank_entry_allocate(entry_id=matched.pk, account=make_account(), actor=OPERATOR)

    assert customer.funds == Decimal("250.00") and Transaction.objects.count() == 1


def test_allocation_to_an_account_in_another_currency_is_refused(in_review, customer, make_account):
    pounds = make_account("Globex Ltd", currency="GBP")

    with pytest.raises(ValidationFailed) as refused:
        bank_entry_allocate(entry_id=in_review.pk, account=pounds, actor=OPERATOR)

    assert "in EUR" in refused.value.errors["account"][0]
    assert BankEntry.objects.get(pk=in_review.pk).status == BankEntry.Status.REVIEW
    nothing_credited(customer)
    assert not AuditEntry.objects.filter(action__startswith="bank_entry.").exists()


def test_another_accounts_request_is_refused(in_review, customer, make_account):
    other = customer_make(make_account("Initech GmbH"))

    with pytest.raises(ValidationFailed) as refused:
        bank_entry_allocate(
            entry_id=in_review.pk,
            account=customer.account,
            bank_transfer=other.request,
            actor=OPERATOR,
        )

    assert "another account" in refused.value.errors["bank_transfer"][0]
    nothing_credited(customer)
    assert BankTransfer.objects.get(pk=other.request.pk).status == "awaiting_funds"


def test_a_received_request_is_refused(in_review, customer):
    BankTransfer.objects.filter(pk=customer.request.pk).update(
        status="received", received_amount=250, received_at=customer.request.created_at
    )
    customer.request.refresh_from_db()

    with pytest.raises(ValidationFailed):
        bank_entry_allocate(
            entry_id=in_review.pk,
            account=customer.account,
            bank_transfer=customer.request,
            actor=OPERATOR,
        )

    nothing_credited(customer)


def test_returning_credits_nothing_and_keeps_an_audit_entry(in_review, customer):
    entry = bank_entry_return(entry_id=in_review.pk, actor=OPERATOR, note="Sent back to payer")

    assert entry.status == BankEntry.Status.RETURNED and entry.decided_at is not None
    assert entry.review_reason == BankEntry.ReviewReason.NO_REFERENCE  # why it was in review
    nothing_credited(customer)
    audit = AuditEntry.objects.get(action="bank_entry.return")
    assert audit.changes == {
        "status": ["review", "returned"],
        "note": ["", "Sent back to payer"],
    }
    with pytest.raises(Conflict):
        bank_entry_allocate(entry_id=in_review.pk, account=customer.account, actor=OPERATOR)
    nothing_credited(customer)
