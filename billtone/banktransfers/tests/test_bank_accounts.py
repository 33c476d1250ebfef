"""The operator's bank accounts (where customers send money): saved through
bank_account_save, from the back office too, and every change audited."""

from dataclasses import replace

from django.contrib.auth import get_user_model
from django.test import Client

from billtone.banktransfers.models import OperatorBankAccount
from billtone.banktransfers.services import bank_account_save
from billtone.banktransfers.tests.funding import EUR_BANK
from billtone.core.models import AuditEntry
from billtone.core.services import Actor

ADMIN = "/admin/banktransfers/operatorbankaccount/"
OPERATOR = Actor(label="operator")
FORM = {
    "currency": "eur",
    "account_holder": "Billtone Telecom B.V.",
    "iban": "NL91 ABNA 0417 1643 00",
    "bic": "ABNANL2A",
    "bank_name": "ABN AMRO Bank N.V.",
    "bank_address": "Gustav Mahlerlaan 10, Amsterdam",
}


def staff_client():
    user = get_user_model().objects.create_superuser("operator", "op@example.com", "pw-operator")
    client = Client()
    client.force_login(user)
    return client, user


def entries():
    return list(
        AuditEntry.objects.filter(object_type="banktransfers.OperatorBankAccount")
        .order_by("id")
        .values_list("action", "actor_label", "changes")
    )


def test_saving_audits_the_creation_and_each_change_once(db):
    made = bank_account_save(data=EUR_BANK, actor=OPERATOR)
    again = bank_account_save(data=EUR_BANK, actor=OPERATOR)  # nothing changed
    moved = bank_account_save(
        data=replace(EUR_BANK, iban="DE89370400440532013000", bic="COBADEFFXXX"), actor=OPERATOR
    )

    assert made.pk == again.pk == moved.pk
    assert OperatorBankAccount.objects.get().iban == "DE89370400440532013000"
    (create, update) = entries()
    assert create[:2] == ("bank_account.create", "operator")
    assert create[2]["iban"] == [None, "NL91ABNA0417164300"]
    assert update == (
        "bank_account.update",
        "operator",
        {
            "iban": ["NL91ABNA0417164300", "DE89370400440532013000"],
            "bic": ["ABNANL2A", "COBADEFFXXX"],
        },
    )


def test_the_back_office_adds_and_changes_an_account_through_the_service(db):
    client, user = staff_client()

    added = client.post(f"{ADMIN}add/", FORM)
    account = OperatorBankAccount.objects.get()
    changed = client.post(
        f"{ADMIN}{account.pk}/change/", {**FORM, "currency": "GBP", "bank_name": "ABN AMRO"}
    )

    assert added.status_code == changed.status_code == 302
    account.refresh_from_db()
    assert (account.currency, account.iban, account.bank_name) == (
        "EUR",  # the currency of a saved account is fixed
        "NL91ABNA0417164300",
        "ABN AMRO",
    )
    assert [(action, label) for action, label, _ in entries()] == [
        ("bank_account.create", "operator"),
        ("bank_account.update", "operator"),
    ]
    assert AuditEntry.objects.filter(actor_id=user.pk).count() == 2
    assert entries()[1][2] == {"bank_name": ["ABN AMRO Bank N.V.", "ABN AMRO"]}


def test_the_back_office_refuses_an_invalid_account_and_writes_nothing(db):
    client, _ = staff_client()

    answer = client.post(f"{ADMIN}add/", {**FORM, "iban": "NL91 ABNA 0417 1643 01"})

    assert answer.status_code == 200
    assert "Not a valid IBAN" in answer.content.decode()
    assert not OperatorBankAccount.objects.exists()
    assert entries() == []


def test_the_back_office_cannot_delete_an_account(db):
    client, _ = staff_client()
    account = bank_account_save(data=EUR_BANK, actor=OPERATOR)

    answer = client.post(f"{ADMIN}{account.pk}/delete/", {"post": "yes"})

    assert answer.status_code == 403
    assert OperatorBankAccount.objects.filter(pk=account.pk).exists()
