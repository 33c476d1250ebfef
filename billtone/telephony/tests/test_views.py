from datetime import timedelta

import time_machine
from django.urls import reverse

from billtone.core import clock
from billtone.telephony.models import PhoneNumber
from billtone.telephony.services import number_hold, phone_user_create

from .conftest import ACTOR, numbers_add

PAGE = "/billing/users-numbers/"


def test_the_page_lists_users_and_numbers_with_their_status(
    web, account, other_account, payg_plan, national_plan, nl_geographic
):
    mine, held, theirs = numbers_add("+31201234567", "+31201234568", "+31201234569")
    PhoneNumber.objects.filter(pk=mine.pk).update(
        status="assigned", account=account, assigned_at=clock.now()
    )
    number_hold(account=account, number_id=held.pk)
    number_hold(account=other_account, number_id=theirs.pk)
    for extension, plan in (("201", payg_plan), ("202", national_plan)):
        phone_user_create(
            account=account,
            name=f"User {extension}",
            email="u@acme.example",
            extension=extension,
            plan=plan,
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
    assert reverse("telephony:users-numbers") == PAGE
    page = web.get(PAGE).content.decode()
    assert 'class="badge badge-active">Active</span>' in page
    assert "Awaiting payment" in page
    assert "+31 20 123 4567" in page and "+31 20 123 4568" in page
    assert "Held until" in page
    assert "+31 20 123 4569" not in page and "Not Mine" not in page


def test_a_lapsed_hold_says_so(web, account, number):
    held = number_hold(account=account, number_id=number.pk)
    with time_machine.travel(held.held_until + timedelta(minutes=1)):
        page = web.get(PAGE).content.decode()
    assert "Hold lapsed" in page


def test_an_empty_account_sees_empty_states(web):
    page = web.get(PAGE).content.decode()
    assert 'id="no-users"' in page and 'id="no-numbers"' in page
    assert 'href="/billing/users-numbers/"' in page  # the Billing menu links it


def test_a_member_without_billing_rights_is_refused(client, member):
    client.force_login(member.user)
    assert client.get(PAGE).status_code == 403


def test_staff_import_numbers_and_see_each_bad_line(staff, nl_geographic):
    url = reverse("admin:telephony_phonenumber_import")
    refused = staff.post(
        url,
        {"country": "NL", "number_type": "geographic", "numbers": "+31201234567\n+49301234567\n"},
    )
    assert refused.status_code == 200
    assert "Line 2: +49 30 1234567 is a number of DE, not of NL." in refused.content.decode()
    assert not PhoneNumber.objects.exists()
    done = staff.post(
        url, {"country": "nl", "number_type": "geographic", "numbers": "+31201234567\n"}
    )
    assert done.status_code == 302
    assert list(PhoneNumber.objects.values_list("e164", flat=True)) == ["+31201234567"]
    listing = staff.get(reverse("admin:telephony_phonenumber_changelist")).content.decode()
    assert 'id="import-numbers"' in listing and "+31201234567" in listing


def test_staff_cancel_a_user_and_take_back_a_number(staff, account, payg_plan, number):
    user = phone_user_create(
        account=account,
        name="Ada",
        email="ada@acme.example",
        extension="201",
        plan=payg_plan,
        actor=ACTOR,
    )
    PhoneNumber.objects.filter(pk=number.pk).update(
        status="assigned", account=account, assigned_at=clock.now()
    )
    staff.post(
        reverse("admin:telephony_phoneuser_changelist"),
        {"action": "cancel_users", "_selected_action": [user.pk]},
    )
    staff.post(
        reverse("admin:telephony_phonenumber_changelist"),
        {"action": "cancel_numbers", "_selected_action": [number.pk]},
    )
    user.refresh_from_db()
    number.refresh_from_db()
    assert user.status == "cancelled"
    assert (number.status, number.account) == ("available", None)
