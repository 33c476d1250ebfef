"""Statement import: matching, crediting, review, re-import, over- and under-payments."""

import gc
from decimal import Decimal

import pytest
from django.core import mail
from django.db import IntegrityError

from billtone.banktransfers.models import BankTransfer
from billtone.banktransfers.references import reference_format
from billtone.banktransfers.services import (
    bank_transfer_create,
    bank_transfer_receive,
    bank_transfers_receive_many,
)
from billtone.core import clock
from billtone.core.errors import Conflict, ValidationFailed
from billtone.ledger.models import LedgerAccount, Posting, Transaction
from billtone.notifications.models import EmailDelivery
from billtone.notifications.services import email_render
from billtone.reconciliation import import_storage
from billtone.reconciliation.credits import ledger_key
from billtone.reconciliation.models import BankEntry, StatementImport
from billtone.reconciliation.services.funds_emails import funds_received_emails_queue
from billtone.reconciliation.services.imports import statement_import
from billtone.reconciliation.tests.importing import (
    STAFF,
    Credit,
    camt053,
    customer_make,
)

Status = BankEntry.Status
Reason = BankEntry.ReviewReason


def grouped_lower_split(reference: str) -> list[str]:
    return [reference_format(reference)[:9].lower(), reference_format(reference)[9:]]


def test_a_request_reference_credits_business_funds_and_marks_the_request_received(
    tmp_path, customer, django_capture_on_commit_callbacks
):
    ref = customer.request.reference
    path = camt053(tmp_path, Credit("250.00", ref=ref, ustrd=("Top-up",), bank_ref="B-1"))

    with django_capture_on_commit_callbacks(execute=True):
        result = statement_import(source=path, actor=STAFF)

    assert result.status == StatementImport.Status.DONE
    assert (result.credits, result.matched, result.to_review) == (1, 1, 0)
    assert result.matched_totals == {"EUR": "250.00"}
    assert result.file_name == "statement.xml" and result.format == "camt053"
    assert len(result.sha256) == 64 and result.statement_ids == "STMT-1"
    assert customer.funds == Decimal("250.00")
    request = BankTransfer.objects.get(pk=customer.request.pk)
    assert request.status == BankTransfer.Status.RECEIVED
    assert request.received_amount == Decimal("250.00")
    entry = BankEntry.objects.get()
    assert (entry.status, entry.account, entry.bank_transfer) == (
        Status.MATCHED,
        customer.account,
        request,
    )
    assert entry.reference == ref and entry.bank_reference == "B-1"
    txn = entry.ledger_transaction
    assert txn.idempotency_key == ledger_key(entry.identity)
    assert txn.kind == "bank_transfer" and txn.external_reference == "B-1"
    legs = {
        (p.ledger_account.kind, p.amount) for p in txn.postings.select_related("ledger_account")
    }
    assert legs == {("bank_clearing", Decimal("-250.00")), ("business_funds", Decimal("250.00"))}
    delivery = EmailDelivery.objects.get(key=f"funds-received:{entry.identity}")
    assert delivery.to_email == customer.account.billing_profile.billing_email
    assert delivery.status == EmailDelivery.Status.SENT
    (sent,) = [m for m in mail.outbox if "Funds received" in m.subject]
    assert "€250.00" in sent.subject and reference_format(ref) in sent.body


@pytest.mark.parametrize(
    "ustrd",
    [
        pytest.param(lambda r: ("Top-up " + r[:10], r[10:] + " thanks"), id="split-across-lines"),
        pytest.param(lambda r: (f"ref {r.lower()} thanks",), id="lower-case"),
        pytest.param(lambda r: (f"Top-up {reference_format(r)} invoice 77",), id="with-spaces"),
        pytest.param(lambda r: (f"ACME-{r}/INV-2025-77",), id="inside-other-text"),
        pytest.param(lambda r: tuple(grouped_lower_split(r)), id="grouped-lower-split"),
    ],
)
def test_the_reference_is_found_in_the_free_text_however_it_is_typed(tmp_path, customer, ustrd):
    path = camt053(tmp_path, Credit("250.00", ustrd=ustrd(customer.request.reference)))

    result = statement_import(source=path, actor=STAFF)

    assert (result.matched, result.to_review) == (1, 0)
    assert customer.funds == Decimal("250.00")
    assert BankEntry.objects.get().bank_transfer == customer.request


def test_the_permanent_account_reference_credits_without_a_request(tmp_path, customer):
    path = camt053(tmp_path, Credit("75.10", ustrd=(f"Standing order {customer.reference}",)))

    statement_import(source=path, actor=STAFF)

    assert customer.funds == Decimal("75.10")
    entry = BankEntry.objects.get()
    assert entry.account == customer.account and entry.bank_transfer is None
    request = BankTransfer.objects.get(pk=customer.request.pk)
    assert request.status == BankTransfer.Status.AWAITING_FUNDS


@pytest.mark.parametrize(
    ("arrived", "status"),
    [
        ("300.00", BankTransfer.Status.RECEIVED_DIFFERENT_AMOUNT),
        ("99.99", BankTransfer.Status.RECEIVED_DIFFERENT_AMOUNT),
        ("250", BankTransfer.Status.RECEIVED),
    ],
)
def test_over_and_under_payments_credit_what_arrived(tmp_path, customer, arrived, status):
    path = camt053(tmp_path, Credit(arrived, ref=customer.request.reference))

    result = statement_import(source=path, actor=STAFF)
    funds_received_emails_queue(statement_import_id=result.pk)

    assert customer.funds == Decimal(arrived)
    request = BankTransfer.objects.get(pk=customer.request.pk)
    assert request.status == status and request.received_amount == Decimal(arrived)
    _, email = email_render(delivery=EmailDelivery.objects.get(key__startswith="funds-received:"))
    assert ("the amount that arrived differs" in email.body_text) == (
        status == BankTransfer.Status.RECEIVED_DIFFERENT_AMOUNT
    )


def test_money_for_an_expired_request_still_lands(tmp_path, customer):
    BankTransfer.objects.filter(pk=customer.request.pk).update(status=BankTransfer.Status.EXPIRED)
    statement_import(
        source=camt053(tmp_path, Credit("250.00", ref=customer.request.reference)), actor=STAFF
    )

    assert customer.funds == Decimal("250.00")
    assert BankTransfer.objects.get(pk=customer.request.pk).status == "received"


def test_a_second_payment_on_a_received_request_lands_and_keeps_its_status(tmp_path, customer):
    ref = customer.request.reference
    path = camt053(tmp_path, Credit("250.00", ref=ref), Credit("100.00", ref=ref))

    result = statement_import(source=path, actor=STAFF)

    assert result.matched == 2 and customer.funds == Decimal("350.00")
    request = BankTransfer.objects.get(pk=customer.request.pk)
    assert (request.status, request.received_amount) == ("received", Decimal("250.00"))


def test_importing_the_same_file_again_credits_nothing(tmp_path, customer):
    path = camt053(
        tmp_path,
        Credit("250.00", ref=customer.request.reference),
        Credit("12.00", ustrd=("no reference",)),
    )
    first = statement_import(source=path, actor=STAFF)
    funds_received_emails_queue(statement_import_id=first.pk)
    counts = (Transaction.objects.count(), Posting.objects.count(), EmailDelivery.objects.count())

    again = statement_import(source=path, actor=STAFF)
    assert funds_received_emails_queue(statement_import_id=again.pk) == []

    assert (first.matched, first.to_review) == (1, 1)
    assert (again.credits, again.matched, again.to_review, again.duplicates_skipped) == (2, 0, 0, 2)
    assert again.sha256 == first.sha256 and again.matched_totals == {}
    assert customer.funds == Decimal("250.00")
    assert BankEntry.objects.count() == 2
    assert (
        Transaction.objects.count(),
        Posting.objects.count(),
        EmailDelivery.objects.count(),
    ) == counts


def test_an_overlapping_statement_credits_only_the_new_entries(tmp_path, customer):
    ref = customer.reference.reference
    monday = Credit("10.00", ref=ref, bank_ref="B-MON", booked="2025-03-10")
    tuesday = Credit("20.00", ref=ref, bank_ref="B-TUE", booked="2025-03-11")
    wednesday = Credit("40.00", ref=ref, bank_ref="B-WED", booked="2025-03-12")
    statement_import(source=camt053(tmp_path, monday, tuesday, name="a.xml"), actor=STAFF)

    second = statement_import(
        source=camt053(tmp_path, tuesday, wednesday, name="b.xml", statement_id="STMT-2"),
        actor=STAFF,
    )

    assert (second.matched, second.duplicates_skipped) == (1, 1)
    assert customer.funds == Decimal("70.00")


@pytest.mark.parametrize(
    ("credit", "reason"),
    [
        (lambda c: Credit("250.00", ustrd=("Top-up, thank you",)), Reason.NO_REFERENCE),
        (
            lambda c: Credit("250.00", ustrd=(wrong_check(c.request.reference),)),
            Reason.WRONG_CHECK_DIGITS,
        ),
        (
            lambda c: Credit("250.00", ref=c.request.reference, ustrd=(c.reference.reference,)),
            Reason.TWO_REFERENCES,
        ),
        (lambda c: Credit("250.00", ref="RF18539007547034"), Reason.UNKNOWN_REFERENCE),
        (
            lambda c: Credit("250.00", ref=c.request.reference, currency="GBP"),
            Reason.CURRENCY_DIFFERS,
        ),
        (lambda c: Credit("250.00", ref=c.request.reference, reversal=True), Reason.REVERSAL),
    ],
)
def test_what_cannot_be_matched_for_sure_goes_to_review(tmp_path, customer, credit, reason):
    result = statement_import(source=camt053(tmp_path, credit(customer)), actor=STAFF)

    assert (result.matched, result.to_review) == (0, 1)
    entry = BankEntry.objects.get()
    assert (entry.status, entry.review_reason) == (Status.REVIEW, reason)
    assert entry.account is None and entry.ledger_transaction is None
    assert customer.funds == 0
    assert (
        not Transaction.objects.exists()
        and not EmailDelivery.objects.filter(key__startswith="funds-received:").exists()
    )
    assert BankTransfer.objects.get(pk=customer.request.pk).status == "awaiting_funds"


def wrong_check(reference: str) -> str:
    digits = (int(reference[2:4]) + 1) % 100
    return f"Top-up RF{digits:02d}{reference[4:]}"


def test_debits_and_entries_not_booked_are_ignored_and_counted(tmp_path, customer):
    ref = customer.request.reference
    path = camt053(
        tmp_path,
        Credit("15.50", direction="DBIT", payer="Telco Supplies"),
        Credit("250.00", ref=ref, status="PDNG"),
        Credit("250.00", ref=ref),
    )

    result = statement_import(source=path, actor=STAFF)

    assert (result.credits, result.matched, result.debits_ignored) == (1, 1, 1)
    assert result.not_booked_ignored == 1
    assert BankEntry.objects.count() == 1 and customer.funds == Decimal("250.00")


def test_a_payer_iban_seen_on_a_matched_credit_is_suggested(tmp_path, customer, make_account):
    other = customer_make(make_account("Initech GmbH"))
    path = camt053(
        tmp_path,
        Credit("50.00", ref=customer.reference.reference, iban="DE89370400440532013000"),
        Credit("60.00", ref=other.reference.reference, iban="FR1420041010050500013M02606"),
        Credit("70.00", ustrd=("forgot the reference",), iban="DE89370400440532013000"),
    )

    statement_import(source=path, actor=STAFF)

    entry = BankEntry.objects.get(status=Status.REVIEW)
    assert entry.suggested_account == customer.account
    assert "DE89370400440532013000" in entry.suggestion_reason
    assert customer.funds == Decimal("50.00")  # suggested, never allocated on a guess


def test_a_pending_request_of_that_amount_from_a_known_payer_is_suggested(tmp_path, customer):
    statement_import(
        source=camt053(
            tmp_path, Credit("10.00", ref=customer.reference.reference, payer="ACME Telecom GmbH")
        ),
        actor=STAFF,
    )

    statement_import(
        source=camt053(
            tmp_path,
            Credit(
                "250.00",
                ustrd=("top up",),
                payer="acme  telecom gmbh",
                iban="GB33BUKB20201555555555",
            ),
            name="later.xml",
        ),
        actor=STAFF,
    )

    entry = BankEntry.objects.get(status=Status.REVIEW)
    assert entry.suggested_account == customer.account
    assert entry.suggested_bank_transfer == customer.request
    assert customer.request.reference in entry.suggestion_reason
    assert customer.funds == Decimal("10.00")


def test_no_suggestion_where_two_accounts_fit(tmp_path, customer, make_account):
    other = customer_make(make_account("Initech GmbH"))
    shared = "DE89370400440532013000"
    path = camt053(
        tmp_path,
        Credit("50.00", ref=customer.reference.reference, iban=shared),
        Credit("60.00", ref=other.reference.reference, iban=shared),
        Credit("70.00", ustrd=("no reference",), iban=shared),
    )

    statement_import(source=path, actor=STAFF)

    entry = BankEntry.objects.get(status=Status.REVIEW)
    assert entry.suggested_account is None and entry.suggestion_reason == ""


def test_entries_are_imported_in_batches(tmp_path, customer):
    ref = customer.reference.reference
    credits = [Credit(f"{n}.00", ref=ref) for n in range(1, 8)]
    seen = []

    path = camt053(tmp_path, *credits)
    result = statement_import(
        source=path,
        actor=STAFF,
        batch_size=3,
        progress=lambda stage, done, total: seen.append((stage, done, total)),
    )

    size = path.stat().st_size
    imported = [(done, total) for stage, done, total in seen if stage == "import"]
    read = [(done, total) for stage, done, total in seen if stage == "read"]
    assert imported == [(3, None), (6, None), (7, None)]
    assert read[-1] == (size, size) and all(total == size for _, total in read)
    assert [done for done, _ in read] == sorted(done for done, _ in read)
    assert result.matched == 7 and customer.funds == Decimal(28)
    funds = LedgerAccount.objects.get(account=customer.account, kind="business_funds")
    afters = list(funds.postings.order_by("id").values_list("balance_after", flat=True))
    assert afters == [Decimal(n * (n + 1) // 2) for n in range(1, 8)]


@pytest.mark.parametrize("amount", ["250.00", "250", "249.99", "300.00", "0.00"])
@pytest.mark.parametrize("start", ["awaiting_funds", "expired", "received"])
def test_requests_received_in_bulk_as_bank_transfer_receive_does(customer, amount, start):
    """The importer marks many requests received at once, the service one: both by
    `bank_transfer_arrival`, so the same inputs give the same outcome."""
    one, many = (
        customer.request,
        bank_transfer_create(account=customer.account, amount="250.00", actor=STAFF),
    )
    if start == "received":
        BankTransfer.objects.filter(pk__in=[one.pk, many.pk]).update(
            status=start, received_amount=1, received_at=one.created_at
        )
    else:
        BankTransfer.objects.filter(pk__in=[one.pk, many.pk]).update(status=start)
    now = clock.now()

    if Decimal(amount) == 0:  # nothing arrived: both refuse it
        with pytest.raises(ValidationFailed):
            bank_transfer_receive(bank_transfer_id=one.pk, amount=Decimal(amount), received_at=now)
        with pytest.raises(ValidationFailed):
            bank_transfers_receive_many(received=[(many.pk, Decimal(amount))], received_at=now)
    elif start == "received":  # the service refuses; in bulk the request stays as it is
        with pytest.raises(Conflict):
            bank_transfer_receive(bank_transfer_id=one.pk, amount=Decimal(amount), received_at=now)
        assert (
            bank_transfers_receive_many(received=[(many.pk, Decimal(amount))], received_at=now) == 0
        )
    else:
        bank_transfer_receive(bank_transfer_id=one.pk, amount=Decimal(amount), received_at=now)
        assert (
            bank_transfers_receive_many(received=[(many.pk, Decimal(amount))], received_at=now) == 1
        )

    one, many = BankTransfer.objects.get(pk=one.pk), BankTransfer.objects.get(pk=many.pk)
    assert (one.status, one.received_amount, one.received_at) == (
        many.status,
        many.received_amount,
        many.received_at,
    )


def test_a_batch_written_again_after_contention_makes_its_ledger_accounts_again(
    tmp_path, customer, monkeypatch
):
    """Business funds made on first use inside a batch are rolled back with the batch;
    written again, the batch makes them again instead of using the rolled-back ones."""
    assert not LedgerAccount.objects.filter(account=customer.account).exists()
    insert, calls = import_storage.entries_insert, []

    def entries_insert(rows):
        calls.append(len(rows))
        if len(calls) == 1:  # as if another import had stored one of the entries
            raise IntegrityError("duplicate key value violates bank_entry_identity_unique")
        insert(rows)

    monkeypatch.setattr(import_storage, "entries_insert", entries_insert)

    result = statement_import(
        source=camt053(tmp_path, Credit("40.00", ref=customer.reference.reference)), actor=STAFF
    )

    assert calls == [1, 1] and (result.matched, result.duplicates_skipped) == (1, 0)
    assert customer.funds == Decimal("40.00")
    assert LedgerAccount.objects.filter(account=customer.account).count() == 2


def test_the_import_service_leaves_the_garbage_collector_alone(tmp_path, customer, monkeypatch):
    """A web worker's upload thread runs the service beside other requests: the collector's
    thresholds are the process's, and only the command's own process changes them."""
    before = gc.get_threshold()
    during = []
    insert = import_storage.entries_insert

    def entries_insert(rows):
        during.append(gc.get_threshold())
        insert(rows)

    monkeypatch.setattr(import_storage, "entries_insert", entries_insert)
    statement_import(source=camt053(tmp_path, Credit("1.00", ref="")), actor=STAFF)

    assert during == [before]
