"""The back office names the zone of every time it shows, and shows it in the operator's
zone (BILLTONE_OPERATOR_TIME_ZONE); django-axes' tables sit under "Security"."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client

from billtone.core.models import AuditEntry

WINTER = datetime(2026, 12, 5, 13, 3, tzinfo=UTC)  # 14:03 in Berlin (CET)
SUMMER = datetime(2026, 7, 1, 22, 30, tzinfo=UTC)  # 00:30 the next day in Berlin (CEST)


@pytest.fixture
def staff(db):
    user = get_user_model().objects.create_superuser("ops", "ops@operator.example", "pw")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def berlin(settings):
    settings.BILLTONE_OPERATOR_TIME_ZONE = "Europe/Berlin"


def test_lists_and_detail_pages_show_times_in_the_operator_zone_named(staff, berlin, make_account):
    with time_machine.travel(WINTER, tick=False):
        account = make_account("Winter GmbH")
    with time_machine.travel(SUMMER, tick=False):
        make_account("Summer GmbH")

    accounts = staff.get("/admin/accounts/account/").content.decode()
    detail = staff.get(f"/admin/accounts/account/{account.pk}/change/").content.decode()
    entry = AuditEntry.objects.get(action="account.create", object_id=str(account.pk))
    audit = staff.get("/admin/core/auditentry/").content.decode()
    audited = staff.get(f"/admin/core/auditentry/{entry.pk}/change/").content.decode()

    assert "5 Dec 2026, 14:03 CET" in accounts  # list display
    assert "2 Jul 2026, 00:30 CEST" in accounts  # summer time, the day after in Berlin
    assert "5 Dec 2026, 14:03 CET" in detail  # read-only field of an editable page
    assert "13:03" not in accounts + detail  # no UTC beside it
    assert "5 Dec 2026, 14:03 CET" in audit  # a read-only list (core.admin.ReadOnlyAdmin)
    assert "5 Dec 2026, 14:03 CET" in audited  # and its detail page


def test_without_an_operator_zone_times_say_utc(staff, make_account):
    with time_machine.travel(WINTER, tick=False):
        make_account("Winter GmbH")

    assert "5 Dec 2026, 13:03 UTC" in staff.get("/admin/accounts/account/").content.decode()


def test_a_date_filter_reads_days_in_the_operator_zone(staff, berlin, make_account):
    with time_machine.travel(SUMMER, tick=False):
        make_account("Summer GmbH")

    # 22:30 UTC on 1 July is 2 July in Berlin: the date hierarchy and filters agree.
    day = staff.get("/admin/core/auditentry/?created_at__day=2&created_at__month=7").content
    assert AuditEntry.objects.exists()
    assert b"2 Jul 2026, 00:30 CEST" in day


def test_the_login_throttling_tables_are_under_security(staff):
    index = staff.get("/admin/").content.decode()
    attempts = staff.get("/admin/axes/accessattempt/")

    assert ">Security<" in index and "Access attempts" in index
    assert ">Axes<" not in index
    assert attempts.status_code == 200  # still there: deleting an attempt unlocks a user
