import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError, connection, connections, transaction

from billtone.banktransfers.models import AccountReference, BankTransfer
from billtone.banktransfers.references import reference_is_valid
from billtone.banktransfers.services import (
    BankTransferUnavailable,
    account_reference_get_or_create,
    bank_transfer_amount_clean,
    bank_transfer_arrival,
    bank_transfer_create,
    bank_transfer_expire_due,
    bank_transfer_receive,
    bank_transfers,
    bank_transfers_lock,
)
from billtone.banktransfers.tests.funding import operator_banks  # noqa: F401
from billtone.core import clock
from billtone.core.errors import Conflict, NotFound, ValidationFailed
from billtone.core.models import AuditEntry
from billtone.core.money import NO_EXPONENT, NOT_AN_AMOUNT, Money
from billtone.core.services import Actor
from billtone.notifications.models import EmailDelivery

pytestmark = pytest.mark.usefixtures("operator_banks")
Status = BankTransfer.Status


@pytest.fixture
def actor(owner):
    return Actor(label=owner.user.username, user_id=owner.user_id)


def create(account, amount="250", actor=None, key=None) -> BankTransfer:
    return bank_transfer_create(
        account=account, amount=amount, actor=actor or Actor.system("test"), idempotency_key=key
    )


def test_a_request_has_the_amount_in_the_account_currency_and_its_own_reference(
    account, actor, owner
):
    request = create(account, "250", actor)

    assert Money(request.amount, request.currency) == Money(Decimal("250.00"), "EUR")
    assert request.status == Status.AWAITING_FUNDS
    assert reference_is_valid(request.reference) and len(request.reference) == 16
    assert request.created_by == owner.user
    assert request.expires_at - request.created_at == timedelta(days=14)
    assert request.received_amount is None and request.received_at is None
    entry = AuditEntry.objects.get(action="bank_transfer.create")
    assert entry.account_id == account.pk and entry.changes["amount"] == [None, "250.00"]


def test_a_gbp_account_asks_in_gbp(other_account):
    request = create(other_account, "99.95")
    assert (request.currency, request.amount) == ("GBP", Decimal("99.95"))


def test_the_instructions_are_emailed_to_the_billing_email(
    account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request = create(account, "1000")

    delivery = EmailDelivery.objects.get(key=f"bank-transfer-instructions:{request.pk}")
    assert delivery.to_email == account.billing_profile.billing_email
    grouped = " ".join(request.reference[i : i + 4] for i in range(0, 16, 4))
    assert grouped in delivery.subject and "€1,000.00" in delivery.subject
    for text in (grouped, "€1,000.00", "NL91 ABNA 0417 1643 00", "ABNANL2A", "ABN AMRO Bank N.V."):
        assert text in delivery.body_text
    assert "usually take 2-3 business days" in delivery.body_text
    assert [m.to for m in mail.outbox] == [[account.billing_profile.billing_email]]


def test_expiry_days_come_from_the_settings(account, settings):
    settings.BILLTONE_BANK_TRANSFER_EXPIRY_DAYS = 3
    request = create(account)
    assert request.expires_at - request.created_at == timedelta(days=3)


def test_no_operator_bank_account_in_the_currency_is_a_clear_error_and_writes_nothing(
    make_account,
):
    usd = make_account("Initech Inc", currency="USD", timezone="America/New_York")
    with pytest.raises(BankTransferUnavailable) as raised:
        create(usd, "100")
    assert raised.value.status == 422
    assert "Bank transfer is not available in USD" in raised.value.detail
    assert not BankTransfer.objects.exists() and not EmailDelivery.objects.exists()
    assert not AuditEntry.objects.filter(action="bank_transfer.create").exists()


@pytest.mark.parametrize("amount", ["10", "10.00", "50000", "49999.99", 250, Decimal("12.5")])
def test_amounts_within_the_limits_are_accepted(account, amount):
    request = create(account, amount)
    assert request.amount == Decimal(str(amount))


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("9.99", "Enter an amount from €10.00 to €50,000.00."),
        ("50000.01", "Enter an amount from €10.00 to €50,000.00."),
        ("0", "Enter an amount from €10.00 to €50,000.00."),
        ("-100", "Enter an amount from €10.00 to €50,000.00."),
        ("1e9", NO_EXPONENT),
        ("12.345", "EUR amounts have at most 2 decimal places."),
        ("100.001", "EUR amounts have at most 2 decimal places."),
        ("abc", NOT_AN_AMOUNT),
        ("", NOT_AN_AMOUNT),
        ("NaN", NOT_AN_AMOUNT),
        ("Infinity", NOT_AN_AMOUNT),
        (None, NOT_AN_AMOUNT),
        (12.5, NOT_AN_AMOUNT),
    ],
)
def test_bad_amounts_are_refused_with_a_message_and_write_nothing(account, amount, message):
    with pytest.raises(ValidationFailed) as raised:
        create(account, amount)
    assert raised.value.errors == {"amount": [message]}
    assert not BankTransfer.objects.exists() and not EmailDelivery.objects.exists()


def test_trailing_zeros_beyond_the_minor_unit_are_not_extra_decimals(account):
    assert create(account, "10.5000").amount == Decimal("10.50")


def test_the_minor_unit_is_the_currency_s_own():
    assert bank_transfer_amount_clean(amount="1500", currency="JPY") == Money(1500, "JPY")
    with pytest.raises(ValidationFailed) as raised:
        bank_transfer_amount_clean(amount="1500.5", currency="JPY")
    assert raised.value.errors == {
        "amount": ["JPY amounts are whole numbers: enter no decimal places."]
    }
    assert bank_transfer_amount_clean(amount="12.345", currency="KWD") == Money(
        Decimal("12.345"), "KWD"
    )
    with pytest.raises(ValidationFailed):
        bank_transfer_amount_clean(amount="12.3456", currency="KWD")


def test_limits_come_from_the_settings(account, settings):
    settings.BILLTONE_BANK_TRANSFER_MIN_AMOUNT = "100"
    settings.BILLTONE_BANK_TRANSFER_MAX_AMOUNT = "200"
    with pytest.raises(ValidationFailed) as raised:
        create(account, "50")
    assert raised.value.errors == {"amount": ["Enter an amount from €100.00 to €200.00."]}
    assert create(account, "200").amount == Decimal("200")


def test_the_same_idempotency_key_returns_the_first_request(account):
    first = create(account, "250", key="order-7")
    again = create(account, "250.00", key="order-7")

    assert again.pk == first.pk and again.reference == first.reference
    assert BankTransfer.objects.count() == 1
    assert EmailDelivery.objects.count() == 1


def test_the_same_key_with_another_amount_is_refused_and_writes_nothing(account):
    first = create(account, "250", key="order-7")
    with pytest.raises(Conflict) as raised:
        create(account, "500", key="order-7")
    assert raised.value.slug == "idempotency-key-reused"
    assert list(BankTransfer.objects.all()) == [first]


def test_idempotency_keys_are_per_account(account, other_account):
    mine = create(account, "250", key="k1")
    theirs = create(other_account, "250", key="k1")
    assert mine.pk != theirs.pk and mine.reference != theirs.reference


def test_the_database_refuses_a_second_request_with_the_same_key(account):
    first = create(account, key="k1")
    with pytest.raises(IntegrityError), transaction.atomic():
        BankTransfer.objects.create(
            account=account,
            amount=Decimal("10"),
            currency="EUR",
            reference="RF18539007547034",
            created_at=first.created_at,
            expires_at=first.expires_at,
            idempotency_key="k1",
        )


def test_every_request_and_the_account_have_different_references(account, other_account):
    references = {create(account, "50").reference for _ in range(20)}
    references |= {create(other_account, "50").reference for _ in range(5)}
    references.add(account_reference_get_or_create(account=account).reference)
    references.add(account_reference_get_or_create(account=other_account).reference)
    assert len(references) == 27
    assert all(reference_is_valid(reference) for reference in references)


def test_the_permanent_reference_is_made_once_per_account(account):
    first = account_reference_get_or_create(account=account)
    again = account_reference_get_or_create(account=account)
    assert first.pk == again.pk and reference_is_valid(first.reference)
    assert AccountReference.objects.count() == 1


def test_the_database_refuses_duplicate_references(account, other_account):
    request = create(account)
    permanent = account_reference_get_or_create(account=account)
    with pytest.raises(IntegrityError), transaction.atomic():
        BankTransfer.objects.create(
            account=other_account,
            amount=Decimal("10"),
            currency="GBP",
            reference=request.reference,
            created_at=request.created_at,
            expires_at=request.expires_at,
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountReference.objects.create(
            account=other_account, reference=permanent.reference, created_at=clock.now()
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountReference.objects.create(
            account=account, reference="RF18539007547034", created_at=clock.now()
        )


def test_a_reference_already_taken_is_never_issued_again(account, monkeypatch):
    permanent = account_reference_get_or_create(account=account)
    taken = create(account).reference
    fresh = "RF18539007547034"
    issued = iter([permanent.reference, taken, fresh])
    monkeypatch.setattr(bank_transfers, "reference_random", lambda: next(issued))
    assert create(account).reference == fresh


def test_the_database_refuses_a_reference_that_is_not_iso_11649(account):
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountReference.objects.create(
            account=account, reference="INVOICE-42", created_at=clock.now()
        )


def test_requests_past_their_expiry_expire_and_others_do_not(account, other_account):
    due = create(account, "100")
    later = None
    with time_machine.travel(clock.now() + timedelta(days=1), tick=False):
        later = create(other_account, "100")
    paid = create(account, "50")
    bank_transfer_receive(bank_transfer_id=paid.pk, amount=Decimal("50"), received_at=clock.now())

    with time_machine.travel(due.expires_at - timedelta(seconds=1), tick=False):
        assert bank_transfer_expire_due() == 0
    with time_machine.travel(due.expires_at, tick=False):
        assert bank_transfer_expire_due() == 1
        assert bank_transfer_expire_due() == 0  # safe to run twice

    statuses = dict(BankTransfer.objects.values_list("pk", "status"))
    assert statuses == {
        due.pk: Status.EXPIRED,
        later.pk: Status.AWAITING_FUNDS,
        paid.pk: Status.RECEIVED,
    }


def test_the_expire_command_expires_due_requests(account):
    from django.core.management import call_command

    request = create(account)
    with time_machine.travel(request.expires_at + timedelta(hours=1), tick=False):
        call_command("expire_bank_transfers")
    request.refresh_from_db()
    assert request.status == Status.EXPIRED


def test_the_amount_asked_for_is_received(account):
    request = create(account, "250")
    now = clock.now()
    received = bank_transfer_receive(
        bank_transfer_id=request.pk, amount=Decimal("250.00"), received_at=now
    )
    assert (received.status, received.received_amount, received.received_at) == (
        Status.RECEIVED,
        Decimal("250.00"),
        now,
    )


@pytest.mark.parametrize("arrived", ["249.99", "300"])
def test_another_amount_is_received_as_a_different_amount(account, arrived):
    request = create(account, "250")
    received = bank_transfer_receive(
        bank_transfer_id=request.pk, amount=Decimal(arrived), received_at=clock.now()
    )
    assert received.status == Status.RECEIVED_DIFFERENT_AMOUNT
    assert received.received_amount == Decimal(arrived)


def test_the_arrival_is_decided_by_the_amount_and_the_status_alone():
    asked = Money(Decimal("250.00"), "EUR")
    waiting, expired, received = Status.AWAITING_FUNDS, Status.EXPIRED, Status.RECEIVED
    assert bank_transfer_arrival(status=waiting, requested=asked, arrived=asked) == received
    assert bank_transfer_arrival(status=expired, requested=asked, arrived=asked) == received
    for arrived in ("249.99", "250.01"):
        status = bank_transfer_arrival(
            status=waiting, requested=asked, arrived=Money(arrived, "EUR")
        )
        assert status == Status.RECEIVED_DIFFERENT_AMOUNT
    for closed in (received, Status.RECEIVED_DIFFERENT_AMOUNT):
        assert bank_transfer_arrival(status=closed, requested=asked, arrived=asked) is None
    with pytest.raises(ValidationFailed):
        bank_transfer_arrival(status=waiting, requested=asked, arrived=Money("0", "EUR"))


def test_bank_transfers_are_locked_by_id_and_an_unknown_one_is_not_found(account):
    first, second = create(account, "250"), create(account, "100")
    with transaction.atomic():
        locked = bank_transfers_lock(ids=[second.pk, first.pk, second.pk, 0])
    assert list(locked) == [first.pk, second.pk]
    with pytest.raises(NotFound):
        bank_transfer_receive(bank_transfer_id=0, amount=Decimal("1"), received_at=clock.now())


def test_money_that_arrives_after_expiry_still_lands(account):
    request = create(account, "250")
    with time_machine.travel(request.expires_at + timedelta(days=3), tick=False):
        bank_transfer_expire_due()
        received = bank_transfer_receive(
            bank_transfer_id=request.pk, amount=Decimal("250"), received_at=clock.now()
        )
    assert received.status == Status.RECEIVED


def test_a_received_request_is_not_received_again_nor_expired(account):
    request = create(account, "250")
    bank_transfer_receive(
        bank_transfer_id=request.pk, amount=Decimal("100"), received_at=clock.now()
    )
    with pytest.raises(Conflict):
        bank_transfer_receive(
            bank_transfer_id=request.pk, amount=Decimal("150"), received_at=clock.now()
        )
    with time_machine.travel(request.expires_at + timedelta(days=1), tick=False):
        assert bank_transfer_expire_due() == 0
    request.refresh_from_db()
    assert (request.status, request.received_amount) == (
        Status.RECEIVED_DIFFERENT_AMOUNT,
        Decimal("100"),
    )


def test_a_zero_amount_is_not_received(account):
    request = create(account, "250")
    with pytest.raises(ValidationFailed):
        bank_transfer_receive(
            bank_transfer_id=request.pk, amount=Decimal("0"), received_at=clock.now()
        )
    request.refresh_from_db()
    assert request.status == Status.AWAITING_FUNDS


def test_the_allowed_transitions():
    allowed = {
        (source, target)
        for source in Status.values
        for target in Status.values
        if BankTransfer(status=source).can_become(target)
    }
    assert allowed == {
        ("awaiting_funds", "received"),
        ("awaiting_funds", "received_different_amount"),
        ("awaiting_funds", "expired"),
        ("expired", "received"),
        ("expired", "received_different_amount"),
    }


def test_the_database_refuses_a_received_status_without_the_money(account):
    request = create(account)
    with pytest.raises(IntegrityError), transaction.atomic():
        BankTransfer.objects.filter(pk=request.pk).update(status=Status.RECEIVED)
    with pytest.raises(IntegrityError), transaction.atomic():
        BankTransfer.objects.filter(pk=request.pk).update(received_amount=Decimal("1"))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's concurrency")
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_make_one_request(account):
    """Both calls run at once in their own transactions; the unique constraint decides."""
    barrier = threading.Barrier(4)
    results: list[int] = []
    errors: list[BaseException] = []

    def ask():
        try:
            barrier.wait()
            results.append(create(account, "250", key="double-click").pk)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(set(results)) == 1 and len(results) == 4
    assert BankTransfer.objects.count() == 1
    assert EmailDelivery.objects.count() == 1
