from billtone.core import clock
from billtone.telephony.models import PhoneNumber
from billtone.telephony.services import number_hold, phone_user_create

from .conftest import ACTOR, numbers_add


def test_the_lists_show_the_accounts_own_users_and_numbers(
    api, account, other_account, payg_plan, nl_geographic
):
    mine, held, theirs = numbers_add("+31201234567", "+31201234568", "+31201234569")
    PhoneNumber.objects.filter(pk=mine.pk).update(
        status="assigned", account=account, assigned_at=clock.now()
    )
    number_hold(account=account, number_id=held.pk)
    number_hold(account=other_account, number_id=theirs.pk)
    user = phone_user_create(
        account=account,
        name="Ada",
        email="ada@acme.example",
        extension="201",
        plan=payg_plan,
        actor=ACTOR,
    )
    phone_user_create(
        account=other_account,
        name="Not Mine",
        email="n@globex.example",
        extension="300",
        plan=payg_plan,
        actor=ACTOR,
    )

    users = api.get("/api/v1/phone-users").json()
    assert [(u["id"], u["plan"], u["status"]) for u in users["items"]] == [
        (user.pk, "pay-as-you-go", "active")
    ]
    numbers = api.get("/api/v1/phone-numbers").json()["items"]
    assert [(n["e164"], n["display"], n["status"]) for n in numbers] == [
        ("+31201234567", "+31 20 123 4567", "assigned"),
        ("+31201234568", "+31 20 123 4568", "held"),
    ]


def test_the_lists_need_a_token(client, db):
    assert client.get("/api/v1/phone-users").status_code == 401
