import gc
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billtone.accounts.models import BillingProfile
from billtone.core.money import Money
from billtone.ledger.models import LedgerKind, Posting
from billtone.ledger.services import call_credit_limit_set, operator_ledger_account
from billtone.rating import hooks
from billtone.rating.cdr_models import Cdr
from billtone.rating.cdrs.records import Disposition
from billtone.rating.services.ingest import cdr_rerate, cdrs_ingest
from billtone.rating.tests.conftest import (
    ACTOR,
    call,
    call_credit,
    credit_add,
    deck_make,
    user_make,
)

pytestmark = pytest.mark.django_db


def ingest(*records):
    return cdrs_ingest(records=records, source="test", actor=ACTOR)


def test_longest_prefix_and_connection_fees_are_charged_from_call_credit(gb, uk_deck):
    credit_add(gb, "10.00")
    summary = ingest(
        call("a", account=gb, destination="020 7946 0958", billsec=61),  # London: 2 min + fee
        call("b", account=gb, destination="07911 123456", billsec=31),  # mobile 30/6: 36 s
        call("c", account=gb, destination="0113 496 0000", billsec=1),  # UK: 1 min
    )
    assert (summary.rated, summary.rejected, summary.duplicates) == (3, 0, 0)
    cdrs = {c.call_id: c for c in Cdr.objects.all()}
    assert cdrs["a"].prefix == "4420" and cdrs["a"].destination_e164 == "+442079460958"
    assert cdrs["a"].cost == Decimal("0.0700")  # 0.05 + 2 × 0.01
    assert cdrs["b"].destination_name == "United Kingdom mobile"
    assert cdrs["b"].cost == Decimal("0.0640")  # 0.01 + 0.09 × 36 / 60
    assert cdrs["c"].cost == Decimal("0.0200")
    assert cdrs["a"].rate.prefix == "4420"
    assert call_credit(gb) == Decimal("10.00") - Decimal("0.1540")
    revenue = operator_ledger_account(kind=LedgerKind.REVENUE_CALLS, currency="GBP")
    assert revenue.balance == Decimal("0.1540")
    txn = cdrs["a"].transaction
    assert txn is not None and txn == cdrs["b"].transaction
    assert sum(p.amount for p in Posting.objects.filter(transaction=txn)) == 0


def test_dialling_forms_of_the_account_country_are_one_number(gb, uk_deck):
    credit_add(gb, "5.00")
    ingest(
        call("1", account=gb, destination="+44 20 7946 0958"),
        call("2", account=gb, destination="0044 20 7946 0958"),
        call("3", account=gb, destination="00 1 212 555 0100"),
    )
    numbers = dict(Cdr.objects.values_list("call_id", "destination_e164"))
    assert numbers == {"1": "+442079460958", "2": "+442079460958", "3": "+12125550100"}


def test_rates_that_change_mid_month_price_each_call_by_its_start(gb, uk_deck):
    credit_add(gb, "5.00")
    deck_make(
        effective_from=datetime(2027, 1, 15, tzinfo=UTC),
        rates=[("44", "United Kingdom", "0.0500")],
    )
    ingest(
        call(
            "before",
            account=gb,
            destination="0113 496 0000",
            at=datetime(2027, 1, 14, 23, 59, tzinfo=UTC),
        ),
        call(
            "after",
            account=gb,
            destination="0113 496 0000",
            at=datetime(2027, 1, 15, 0, 1, tzinfo=UTC),
        ),
        call("london", account=gb, at=datetime(2027, 1, 20, tzinfo=UTC)),
    )
    costs = dict(Cdr.objects.values_list("call_id", "cost"))
    assert costs["before"] == Decimal("0.0200")
    assert costs["after"] == Decimal("0.0500")
    # The new deck has no London prefix: the longest prefix of the deck in force wins.
    assert costs["london"] == Decimal("0.0500")


def test_included_minutes_are_used_first_then_credit_and_reset_next_period(gb, uk_deck):
    credit_add(gb, "5.00")
    jan = datetime(2027, 1, 10, tzinfo=UTC)
    ingest(
        call("n1", account=gb, source="22", destination="0113 496 0000", billsec=420, at=jan),
        call(
            "n2",
            account=gb,
            source="22",
            destination="0113 496 0000",
            billsec=240,
            at=jan.replace(hour=13),
        ),
        call(
            "abroad", account=gb, source="22", destination="+33 1 23 45 67 89", billsec=60, at=jan
        ),
    )
    cdrs = {c.call_id: c for c in Cdr.objects.all()}
    assert (cdrs["n1"].included_seconds, cdrs["n1"].cost) == (420, Decimal("0"))
    # 10 included minutes: 180 s left, 60 s paid at 0.02 per minute.
    assert (cdrs["n2"].included_seconds, cdrs["n2"].cost) == (180, Decimal("0.0200"))
    assert (cdrs["abroad"].included_seconds, cdrs["abroad"].cost) == (0, Decimal("0.0300"))
    # Used up in January, again whole in February (billing day 1, London time).
    ingest(
        call(
            "jan-late",
            account=gb,
            source="22",
            destination="0113 496 0000",
            at=datetime(2027, 1, 31, 23, 30, tzinfo=UTC),
        ),
        call(
            "feb",
            account=gb,
            source="22",
            destination="0113 496 0000",
            at=datetime(2027, 2, 1, 0, 30, tzinfo=UTC),
        ),
    )
    cdrs = {c.call_id: c for c in Cdr.objects.all()}
    assert (cdrs["jan-late"].included_seconds, cdrs["jan-late"].cost) == (0, Decimal("0.0200"))
    assert (cdrs["feb"].included_seconds, cdrs["feb"].cost) == (60, Decimal("0"))
    assert call_credit(gb) == Decimal("5.00") - Decimal("0.0700")


def test_international_plan_covers_its_countries_only(gb, uk_deck):
    credit_add(gb, "5.00")
    ingest(
        call("fr", account=gb, source="23", destination="+33 1 23 45 67 89"),
        call("uk", account=gb, source="23", destination="0113 496 0000"),
    )
    cdrs = {c.call_id: c for c in Cdr.objects.all()}
    assert (cdrs["fr"].included_seconds, cdrs["fr"].cost) == (60, Decimal("0"))
    assert (cdrs["uk"].included_seconds, cdrs["uk"].cost) == (0, Decimal("0.0200"))


def test_duplicates_in_a_batch_and_re_sent_are_charged_once(gb, uk_deck):
    credit_add(gb, "5.00")
    first = ingest(call("x", account=gb), call("x", account=gb), call("y", account=gb))
    assert (first.records_read, first.rated, first.duplicates) == (3, 2, 1)
    again = ingest(call("x", account=gb), call("y", account=gb), call("z", account=gb))
    assert (again.rated, again.duplicates) == (1, 2)
    assert Cdr.objects.count() == 3
    assert call_credit(gb) == Decimal("5.00") - 3 * Decimal("0.0600")


def test_only_answered_pstn_calls_are_rated_and_the_rest_never_errors(gb, uk_deck):
    credit_add(gb, "5.00")
    odd = ["100", "*97", "sip:bob@example.com", "s", "i", "t", "h", "1000", "9" * 40, ""]
    summary = ingest(
        call("ok", account=gb),
        call("busy", account=gb, disposition=Disposition.BUSY, billsec=0),
        call("noanswer", account=gb, disposition=Disposition.NO_ANSWER, billsec=0),
        call("999", account=gb, destination="999"),
        call("112", account=gb, destination="112"),
        *[call(f"odd{n}", account=gb, destination=d) for n, d in enumerate(odd)],
    )
    assert (summary.answered, summary.rated, summary.rejected) == (13, 1, 0)
    assert summary.not_rated == 2 + 2 + len(odd)
    reasons = dict(Cdr.objects.values_list("call_id", "reason"))
    assert reasons["busy"] == "unanswered" and reasons["999"] == "emergency"
    assert reasons["112"] == "emergency" and reasons["odd7"] == "not_a_number"
    assert call_credit(gb) == Decimal("5.00") - Decimal("0.0600")


def test_rejected_are_kept_with_reasons_and_re_rated_after_a_fix(gb, plans):
    credit_add(gb, "5.00")
    summary = ingest(
        call("no-rate", account=gb),
        call("who", account=gb, source="77"),
        call("acct", account="999999"),
        call("", account=gb),
        call("naive", account=gb, at=datetime(2027, 1, 10, 12, 0)),
    )
    assert summary.rejected == 5
    assert summary.rejected_by_reason == {
        "malformed": 2,
        "no_rate": 1,
        "unknown_account": 1,
        "unknown_user": 1,
    }
    assert call_credit(gb) == Decimal("5.00")
    # The fixes: a deck imported, the user added, the account code corrected.
    deck_make(rates=[("44", "United Kingdom", "0.0200")])
    user_make(gb, "77", plans["payg"])
    Cdr.objects.filter(call_id="acct").update(account_code=str(gb.pk))
    rejected = list(Cdr.objects.filter(status="rejected").values_list("pk", flat=True))
    rated = list(Cdr.objects.filter(call_id="no-rate").values_list("pk", flat=True))
    again = cdr_rerate(cdr_ids=rejected, actor=ACTOR)
    assert (again.rated, again.rejected) == (3, 2)
    assert call_credit(gb) == Decimal("5.00") - 3 * Decimal("0.0200")
    # Re-rating a rated call again changes nothing.
    assert cdr_rerate(cdr_ids=rated, actor=ACTOR).rated == 0
    assert call_credit(gb) == Decimal("5.00") - 3 * Decimal("0.0200")


def test_a_call_the_credit_cannot_cover_is_debited_down_to_the_limit_and_flagged(gb, uk_deck):
    call_credit_limit_set(account=gb, limit=Money("0.05", "GBP"), actor=ACTOR)
    credit_add(gb, "0.03")
    uk = "0113 496 0000"
    ingest(
        call("1", account=gb, destination=uk, billsec=60, at=datetime(2027, 1, 10, 9, tzinfo=UTC)),
        call(
            "2", account=gb, destination=uk, billsec=120, at=datetime(2027, 1, 10, 10, tzinfo=UTC)
        ),
        call(
            "3", account=gb, destination=uk, billsec=180, at=datetime(2027, 1, 10, 11, tzinfo=UTC)
        ),
    )
    cdrs = {c.call_id: c for c in Cdr.objects.all()}
    assert (cdrs["1"].charged, cdrs["1"].credit_short) == (Decimal("0.0200"), False)
    assert (cdrs["2"].charged, cdrs["2"].credit_short) == (Decimal("0.0400"), False)
    # 0.08 could be spent (0.03 and the 0.05 limit): the third call pays 0.02 of 0.06.
    assert (cdrs["3"].cost, cdrs["3"].charged, cdrs["3"].credit_short) == (
        Decimal("0.0600"),
        Decimal("0.0200"),
        True,
    )
    assert call_credit(gb) == Decimal("-0.05")
    ingest(call("4", account=gb, destination=uk))
    four = Cdr.objects.get(call_id="4")
    assert (four.status, four.cost, four.charged, four.credit_short) == (
        "rated",
        Decimal("0.0200"),
        Decimal("0"),
        True,
    )
    assert four.transaction is None and call_credit(gb) == Decimal("-0.05")


def test_after_debit_hooks_run_after_commit_once_per_batch(
    gb, uk_deck, django_capture_on_commit_callbacks
):
    credit_add(gb, "5.00")
    told = []

    def tell(*, account_ids):
        told.extend(account_ids)

    hooks.after_debit.append(tell)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            ingest(call("1", account=gb), call("2", account=gb))
        assert told == [gb.pk]
        with django_capture_on_commit_callbacks(execute=True):
            ingest(call("1", account=gb))  # a duplicate debits nothing
        assert told == [gb.pk]
    finally:
        hooks.after_debit.remove(tell)  # auto top-up's hook stays registered


def test_an_account_without_a_country_reads_international_forms_only(make_account, uk_deck, plans):
    account = make_account(currency="GBP")
    BillingProfile.objects.filter(account=account).update(country="")
    user_make(account, "21", plans["payg"])
    credit_add(account, "1.00")
    ingest(
        call("intl", account=account, destination="0044 113 496 0000"),
        call("national", account=account, destination="0113 496 0000"),
    )
    reasons = dict(Cdr.objects.values_list("call_id", "reason"))
    assert reasons == {"intl": "", "national": "not_a_number"}


def test_the_cyclic_gc_is_on_again_after_a_batch_and_left_off_if_it_was_off(gb, uk_deck):
    credit_add(gb, "1.00")
    assert gc.isenabled()
    ingest(call("gc-1", account=gb, destination="020 7946 0958"))
    assert gc.isenabled()
    gc.disable()
    try:
        ingest(call("gc-2", account=gb, destination="020 7946 0958"))
        assert not gc.isenabled()  # turned off by someone else: theirs to turn on
    finally:
        gc.enable()
