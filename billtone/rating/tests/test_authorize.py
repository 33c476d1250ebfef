"""Call authorization: the longest call the credit (and included minutes) allows at the
destination's rate, holds that count as spent until the CDR arrives or they expire."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from billtone.accounts.services import operator_token_create
from billtone.rating.allowance import MAX_CALL_SECONDS
from billtone.rating.cdr_models import EmergencyNumber
from billtone.rating.hold_models import CallHold, CallHoldTotal
from billtone.rating.hold_tasks import call_holds_purge_task
from billtone.rating.services import authorize_sql
from billtone.rating.services.authorize import HOLD_GRACE, call_authorize, call_holds_purge
from billtone.rating.services.hold_totals import call_hold_totals_rebuild
from billtone.rating.services.ingest import cdrs_ingest
from billtone.rating.tests.conftest import ACTOR, call, call_credit, credit_add, holds_clear
from billtone.telephony.models import AccountSuspension
from conftest import ApiClient

pytestmark = pytest.mark.django_db
NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
LONDON = "020 7946 0958"  # 4420: 0.01 a minute, 0.05 connection fee, 60/60
LEEDS = "0113 496 0000"  # 44: 0.02 a minute, 60/60
MOBILE = "07911 123456"  # 447: 0.09 a minute, 0.01 fee, 30/6


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def authorize(account, destination, **kw):
    return call_authorize(account_code=str(account.pk), destination=destination, **kw)


def test_the_credit_buys_whole_increments_after_the_connection_fee(gb, uk_deck):
    credit_add(gb, "1.00")
    london = authorize(gb, LONDON)
    # 0.95 after the fee buys 95 minutes at 0.01.
    assert (london.allowed, london.max_seconds, london.held) == (True, 5700, Decimal("1.0000"))
    assert (london.destination, london.destination_name) == ("+442079460958", "London")
    holds_clear()
    mobile = authorize(gb, MOBILE)
    # 0.99 after the fee buys 660 s at 0.09 (30 s, then whole 6 s steps).
    assert (mobile.max_seconds, mobile.held) == (660, Decimal("1.0000"))


def test_holds_count_as_spent_until_the_credit_is_gone(gb, uk_deck):
    credit_add(gb, "5.00")
    first = authorize(gb, LEEDS)
    assert (first.max_seconds, first.held) == (MAX_CALL_SECONDS, Decimal("3.6000"))  # capped
    second = authorize(gb, LEEDS)
    assert (second.max_seconds, second.held) == (4200, Decimal("1.4000"))  # 70 min of 1.40
    third = authorize(gb, LEEDS)
    assert (third.allowed, third.reason, third.max_seconds) == (False, "no_credit", 0)
    assert CallHold.objects.filter(account=gb).count() == 2


def test_included_minutes_are_added_and_held_too(gb, uk_deck):
    credit_add(gb, "0.10")
    # User 22's National plan: 10 included minutes, then 0.10 buys 10 more (no fee).
    first = authorize(gb, LONDON, user="22")
    assert (first.max_seconds, first.included_seconds, first.held) == (
        1200,
        600,
        Decimal("0.1000"),
    )
    second = authorize(gb, LONDON, user="22")
    assert (second.allowed, second.reason) == (False, "no_credit")
    # Pay As You Go user 21 has none: the fee applies.
    holds_clear()
    assert authorize(gb, LONDON, user="21").max_seconds == 300


def test_a_cdr_releases_its_hold_by_call_id_or_else_the_oldest_for_the_destination(gb, uk_deck):
    credit_add(gb, "1.00")
    authorize(gb, LONDON, call_id="sw-1")
    assert not authorize(gb, LONDON).allowed
    cdrs_ingest(
        records=[call("sw-1", account=gb, destination=LONDON, at=NOW)], source="t", actor=ACTOR
    )
    assert not CallHold.objects.filter(call_id="sw-1").exists()
    # The first call cost 0.06: 0.94 left, 89 minutes.
    untagged = authorize(gb, LEEDS)
    assert untagged.max_seconds == 2820
    cdrs_ingest(
        records=[call("sw-2", account=gb, destination=LEEDS, at=NOW)], source="t", actor=ACTOR
    )
    assert not CallHold.objects.exists()
    assert call_credit(gb) == Decimal("0.9200")


def test_a_repeated_authorization_of_a_call_replaces_its_hold(gb, uk_deck):
    credit_add(gb, "1.00")
    authorize(gb, LONDON, call_id="sw-9")
    again = authorize(gb, LONDON, call_id="sw-9")
    assert again.max_seconds == 5700
    assert CallHold.objects.count() == 1


def test_an_expired_hold_no_longer_counts(gb, uk_deck, _now):
    credit_add(gb, "1.00")
    held = authorize(gb, LONDON)
    assert not authorize(gb, LONDON).allowed
    _now.move_to(NOW + timedelta(seconds=held.max_seconds) + HOLD_GRACE + timedelta(seconds=1))
    assert authorize(gb, LONDON).max_seconds == 5700


def test_emergency_numbers_are_always_allowed_and_never_held(gb, uk_deck):
    assert authorize(gb, "12 3").reason == "not_a_number"
    EmergencyNumber.objects.create(country="GB", number="123")  # counts at once: no cache
    assert authorize(gb, "12 3").reason == "emergency"
    EmergencyNumber.objects.create(country="FR", number="456")  # another country's: no
    assert authorize(gb, "456").reason == "not_a_number"
    AccountSuspension.objects.create(account=gb, suspended_at=NOW, reason="unpaid")
    found = authorize(gb, "999")
    assert (found.allowed, found.reason, found.max_seconds) == (True, "emergency", MAX_CALL_SECONDS)
    assert not CallHold.objects.exists()
    suspended = authorize(gb, LONDON)
    assert (suspended.allowed, suspended.reason) == (False, "suspended")


def test_what_cannot_be_called_says_why(gb, uk_deck):
    credit_add(gb, "1.00")
    assert authorize(gb, "*97").reason == "not_a_number"
    no_rate = authorize(gb, "+81 3 1234 5678")
    assert (no_rate.allowed, no_rate.reason) == (False, "no_rate")
    assert not CallHold.objects.exists()


def test_the_api_answers_the_operator_and_404s_an_unknown_account(gb, uk_deck, api):
    credit_add(gb, "1.00")
    staff = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    operator = ApiClient(operator_token_create(user=staff, name="ops").secret)
    response = operator.get(
        "/api/v1/authorize", {"account": gb.pk, "destination": LONDON, "call_id": "x1"}
    )
    assert response.status_code == 200
    assert response.json() == {
        "allowed": True,
        "max_seconds": 5700,
        "reason": "",
        "destination": "+442079460958",
        "destination_name": "London",
        "prefix": "4420",
        "per_minute": "0.0100",
        "connection_fee": "0.0500",
        "increments": "60/60",
        "currency": "GBP",
        "held": "1.0000",
        "included_seconds": 0,
    }
    missing = operator.get("/api/v1/authorize", {"account": "999999", "destination": LONDON})
    assert missing.status_code == 404
    assert missing["Content-Type"].startswith("application/problem+json")
    assert operator.get("/api/v1/authorize", {"account": gb.pk}).status_code == 422
    assert api.get("/api/v1/authorize", {"account": gb.pk, "destination": LONDON}).status_code in (
        401,
        403,
    )


def test_an_authorization_takes_few_queries(gb, uk_deck, django_assert_max_num_queries):
    credit_add(gb, "1.00")
    authorize(gb, LEEDS, user="22")  # the deck's prefixes read once per process
    holds_clear()
    # The fullest path (a caller with included minutes, a call id): one read of everything
    # (account, profile, suspension, emergency match, deck, caller and plan, billing day,
    # the call credit, the open holds, the included use), then the hold taken under the
    # lock: on PostgreSQL one call of rating_hold_take(); elsewhere a transaction of the
    # lock, the hold lock, the call's previous hold, open holds, included use, the insert,
    # the account's and the caller's totals (+ savepoints).
    postgres = connection.vendor == "postgresql"
    with django_assert_max_num_queries(2 if postgres else 11):
        found = authorize(gb, LONDON, user="22", call_id="q1")
    assert found.allowed and found.included_seconds == 600
    holds_clear()
    with django_assert_max_num_queries(2 if postgres else 9):  # no caller, no call id
        assert authorize(gb, LEEDS).allowed
    with django_assert_max_num_queries(1):  # no credit left, no call id: nothing to take
        assert authorize(gb, LEEDS).reason == "no_credit"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="rating_hold_take() is PostgreSQL's")
def test_a_hold_commits_without_waiting_for_the_disk(gb, uk_deck):
    """Decision 0032: the take's transaction alone commits asynchronously."""
    credit_add(gb, "1.00")
    assert authorize(gb, LONDON).allowed  # inside the test's transaction: its setting stays
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('synchronous_commit')")
        assert cursor.fetchone()[0] == "off"


def test_credit_taken_after_the_first_read_is_seen_under_the_lock(gb, uk_deck, monkeypatch):
    """The allowance is computed from figures read without a lock; a hold taken in between
    (another authorization) makes the locked check refuse, and the allowance is computed
    again from the fresh figures: never more than the credit in total."""
    credit_add(gb, "1.00")
    read = authorize_sql.authorize_context

    def read_then_another_call_holds(**kw):
        context = read(**kw)
        CallHold.objects.create(
            account=gb,
            destination="+441134960000",
            amount=Decimal("0.7000"),
            currency="GBP",
            seconds=60,
            created_at=NOW,
            expires_at=NOW + HOLD_GRACE * 10,
        )
        call_hold_totals_rebuild(account_ids=[gb.pk])  # as its take would have counted it
        return context

    monkeypatch.setattr(authorize_sql, "authorize_context", read_then_another_call_holds)
    found = authorize(gb, LONDON)
    # 0.30 left: 0.05 fee, then 25 minutes at 0.01.
    assert (found.allowed, found.max_seconds, found.held) == (True, 1500, Decimal("0.3000"))
    assert sum(CallHold.objects.values_list("amount", flat=True)) == Decimal("1.0000")


def test_expired_holds_are_purged_by_the_periodic_task_and_open_ones_kept(gb, _now):
    def hold(expires_at):
        return CallHold.objects.create(
            account=gb,
            destination="+441134960000",
            amount=Decimal("0.1000"),
            currency="GBP",
            seconds=60,
            created_at=NOW,
            expires_at=expires_at,
        )

    expired = [hold(NOW - timedelta(seconds=n)) for n in (0, 1, 2)]
    kept = hold(NOW + timedelta(seconds=1))
    call_hold_totals_rebuild()  # as their takes would have counted them
    assert call_holds_purge(batch=2) == len(expired)  # in batches
    assert list(CallHold.objects.values_list("pk", flat=True)) == [kept.pk]
    assert CallHoldTotal.objects.get(account=gb).amount == Decimal("0.1000")
    assert call_holds_purge() == 0  # twice is harmless
    _now.move_to(NOW + timedelta(seconds=1))
    call_holds_purge_task.apply()
    assert not CallHold.objects.exists()
    assert CallHoldTotal.objects.get(account=gb).amount == 0
    task = settings.CELERY_BEAT_SCHEDULE["rating-call-holds-purge"]["task"]
    assert task == call_holds_purge_task.name


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL prepares statements")
def test_the_read_is_planned_once_per_connection(gb, uk_deck):
    """Decision 0031: psycopg prepares a statement run five times on a connection, so
    PostgreSQL stops planning the authorization's read of seven tables on every call."""
    credit_add(gb, "500.00")

    def prepared_reads() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                ["%telephony_accountsuspension%rating_callhold%"],
            )
            return cursor.fetchone()[0]

    assert prepared_reads() == 0
    for _ in range(6):
        assert authorize(gb, LEEDS).allowed
        holds_clear()
    assert prepared_reads() == 1
