"""The holds' running totals (decision 0033) stay equal to the sums of the hold rows through
takes, repeated call ids, releases by CDR, expiry and the purge; what an authorization
reads from them equals the sum of the open holds it used to compute."""

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from billtone.core import clock
from billtone.rating.hold_models import CallHold, CallHoldSeconds, CallHoldTotal
from billtone.rating.hold_tasks import call_holds_purge_task
from billtone.rating.services import authorize_sql
from billtone.rating.services.authorize import call_authorize, call_holds_purge
from billtone.rating.services.hold_totals import call_hold_totals_rebuild
from billtone.rating.services.ingest import cdrs_ingest
from billtone.rating.tests.conftest import ACTOR, call, credit_add
from billtone.telephony.models import PhoneUser

pytestmark = pytest.mark.django_db
NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
DESTINATIONS = ["020 7946 0958", "0113 496 0000", "07911 123456"]


def assert_in_step(account) -> None:
    """The totals equal the rows' sums; the reads equal the open holds' sums."""
    holds = list(CallHold.objects.filter(account=account))
    total = CallHoldTotal.objects.filter(account=account).first()
    assert (total.amount if total else 0) == sum((h.amount for h in holds), Decimal(0))
    seconds = defaultdict(int)
    for hold in holds:
        if hold.phone_user_id:
            seconds[hold.phone_user_id] += hold.included_seconds
    users = PhoneUser.objects.filter(account=account)
    kept = dict(
        CallHoldSeconds.objects.filter(phone_user__in=users).values_list(
            "phone_user_id", "included_seconds"
        )
    )
    assert {u: s for u, s in kept.items() if s} == {u: s for u, s in seconds.items() if s}
    now = clock.now()
    open_holds = [h for h in holds if h.expires_at > now]
    for user in users:
        held = authorize_sql.holds_open(account_id=account.pk, phone_user_id=user.pk, now=now)
        assert held == (
            sum((h.amount for h in open_holds), Decimal(0)),
            sum(h.included_seconds for h in open_holds if h.phone_user_id == user.pk),
        )
        for call_id in ("", "c1"):
            context = authorize_sql.authorize_context(
                account_id=account.pk,
                dialled="02079460958",
                extension=user.extension,
                call_id=call_id,
                now=now,
            )
            counted = [h for h in open_holds if not call_id or h.call_id != call_id]
            assert (context.held, context.held_seconds) == (
                sum((h.amount for h in counted), Decimal(0)),
                sum(h.included_seconds for h in counted if h.phone_user_id == user.pk),
            )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_totals_follow_takes_releases_expiry_and_the_purge(gb, uk_deck, seed):
    credit_add(gb, "9.00")
    rng = random.Random(seed)
    cdr_ids = iter(range(10**6))
    with time_machine.travel(NOW, tick=False) as traveller:
        for _ in range(40):
            step = rng.choice(["take", "take", "take", "cdr", "time", "purge"])
            if step == "take":
                call_authorize(
                    account_code=str(gb.pk),
                    destination=rng.choice(DESTINATIONS),
                    user=rng.choice(["", "21", "22"]),
                    call_id=rng.choice(["", "c1", "c2", "c3"]),
                )
            elif step == "cdr":
                hold = CallHold.objects.filter(account=gb).order_by("?").first()
                tagged = hold is not None and hold.call_id and rng.random() < 0.7
                call_id = hold.call_id if tagged else f"untagged-{next(cdr_ids)}"
                destination = rng.choice(DESTINATIONS)
                if hold is not None and not tagged:
                    destination = hold.destination
                record = call(
                    call_id, account=gb, destination=destination, at=clock.now(), billsec=30
                )
                cdrs_ingest(records=[record], source="t", actor=ACTOR)
            elif step == "time":
                traveller.shift(timedelta(minutes=rng.choice([1, 10, 60, 120, 200])))
            else:
                call_holds_purge()
            assert_in_step(gb)
        call_holds_purge_task.apply()
        assert_in_step(gb)


def test_a_total_kept_wrong_from_outside_is_put_right_by_the_purge_task(gb, uk_deck):
    credit_add(gb, "1.00")
    with time_machine.travel(NOW, tick=False):
        assert call_authorize(account_code=str(gb.pk), destination=DESTINATIONS[0]).allowed
        CallHold.objects.all().delete()  # outside decision 0033's writers: the total stays
        refused = call_authorize(account_code=str(gb.pk), destination=DESTINATIONS[0])
        assert refused.reason == "no_credit"
        call_holds_purge_task.apply()
        assert CallHoldTotal.objects.get(account=gb).amount == 0
        assert call_authorize(account_code=str(gb.pk), destination=DESTINATIONS[0]).allowed
        assert call_hold_totals_rebuild() == 0  # in step: nothing to put right


def test_the_migration_fills_the_totals_from_the_holds_there_are(gb, uk_deck):
    from importlib import import_module

    migration = import_module("billtone.rating.migrations.0008_call_hold_totals")
    credit_add(gb, "5.00")
    with time_machine.travel(NOW, tick=False):
        call_authorize(account_code=str(gb.pk), destination=DESTINATIONS[1], user="22")
        call_authorize(account_code=str(gb.pk), destination=DESTINATIONS[0])
    kept = (CallHoldTotal.objects.get(account=gb).amount, list(CallHoldSeconds.objects.all()))
    CallHoldTotal.objects.all().delete()
    CallHoldSeconds.objects.all().delete()
    with connection.cursor() as cursor:
        for statement in migration.FILL:
            cursor.execute(statement)
    assert CallHoldTotal.objects.get(account=gb).amount == kept[0]
    assert [(s.phone_user_id, s.included_seconds) for s in CallHoldSeconds.objects.all()] == [
        (s.phone_user_id, s.included_seconds) for s in kept[1]
    ]
    assert_in_step(gb)
