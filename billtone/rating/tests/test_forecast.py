"""The call-credit forecast: the pure part (no database), then its selector."""

from datetime import UTC, date, datetime
from decimal import Decimal as D

import time_machine

from billtone.rating.forecast import (
    ComingBill,
    TopUpSettings,
    call_credit_forecast_make,
    daily_spend,
)
from billtone.rating.forecast_selectors import call_credit_forecast
from billtone.rating.tests.topup_fixtures import card_on, credit, fund, rated, spend, turn_on

TODAY = date(2027, 3, 10)


def make(*, spend="2", credit="20", funds="0", card=True, bills=(), **settings):
    settings.setdefault("enabled", True)
    settings.setdefault("value", D("10"))
    settings.setdefault("threshold", D("5"))
    settings.setdefault("per_day", 5)
    settings.setdefault("per_month", 31)
    return call_credit_forecast_make(
        today=TODAY,
        currency="EUR",
        spend_per_day=D(spend),
        credit=D(credit),
        funds=D(funds),
        card=card,
        settings=TopUpSettings(**settings),
        bills=[ComingBill(on, D(gross)) for on, gross in bills],
    )


def test_daily_spend_is_the_windows_charges_over_thirty_days():
    assert daily_spend(D("45.0000"), currency="EUR") == D("1.5000")
    assert daily_spend(D("1"), currency="EUR") == D("0.0333")


def test_no_calls_no_run_out_and_no_top_ups():
    forecast = make(spend="0", credit="1")
    assert (forecast.status, forecast.runs_out_on, forecast.top_ups) == ("no_calls", None, [])


def test_steady_spend_without_auto_top_up_runs_out_on_its_day():
    forecast = make(spend="2", credit="21", enabled=False)  # 10.5 days
    assert forecast.status == "runs_out"
    assert forecast.runs_out_on == date(2027, 3, 20)
    assert forecast.top_ups == []


def test_credit_lasting_past_thirty_days():
    forecast = make(spend="1", credit="40", enabled=False)
    assert (forecast.status, forecast.runs_out_on) == ("lasts", None)


def test_top_ups_one_step_each_as_the_threshold_is_crossed():
    # 20 → threshold 5 after 7.5 days; each 10 € step lasts 5 days: days 7, 12, 17, 22, 27.
    forecast = make(spend="2", credit="20", funds="25", tax_rate=D("19"))
    assert forecast.status == "lasts"
    assert [t.on.day for t in forecast.top_ups] == [17, 22, 27, 1, 6]
    assert [t.on.month for t in forecast.top_ups] == [3, 3, 3, 4, 4]
    assert {t.quantity for t in forecast.top_ups} == {1}
    assert forecast.top_ups[0].amount == D("10") and forecast.top_ups[0].gross == D("11.90")
    # Business funds pay while they cover the gross (25 → 13.10 → 1.20), then the card.
    paid = [t.paid_by for t in forecast.top_ups]
    assert paid == ["business_funds", "business_funds", "card", "card", "card"]


def test_credit_below_the_threshold_now_takes_several_steps_at_once():
    forecast = make(spend="1", credit="2", threshold=D("25"), value=D("10"))
    first = forecast.top_ups[0]
    assert (first.on, first.quantity, first.amount) == (TODAY, 3, D("30"))


def test_a_daily_cap_makes_top_ups_wait_and_take_more_steps():
    # 40 € a day against 10 € steps, one top-up a day: today's when the threshold is
    # crossed, then the credit runs out; each next day's starts from nothing (1 step).
    forecast = make(spend="40", credit="10", threshold=D("25"), per_day=1)
    assert (forecast.top_ups[0].on, forecast.top_ups[0].quantity) == (TODAY, 2)
    assert (forecast.top_ups[1].on, forecast.top_ups[1].quantity) == (date(2027, 3, 11), 3)
    assert len(forecast.top_ups) == 30  # one a day, every day
    assert forecast.runs_out_on == TODAY
    assert "a day" in forecast.held_back


def test_a_monthly_cap_stops_top_ups_until_next_month():
    forecast = make(spend="2", credit="20", per_month=3, taken_this_month=2)
    # After the one top-up left in March the credit (15 € at 2 a day) runs out on the 25th;
    # April's first top-up brings it back from nothing, the next ones follow the threshold.
    assert [t.on.isoformat() for t in forecast.top_ups] == [
        "2027-03-17",
        "2027-04-01",
        "2027-04-03",
        "2027-04-08",
    ]
    assert forecast.runs_out_on == date(2027, 3, 25)
    assert [t.quantity for t in forecast.top_ups] == [1, 1, 1, 1]
    assert "a month" in forecast.held_back


def test_auto_top_up_off_or_unpayable_is_not_counted_on():
    off = make(spend="2", credit="20", enabled=False)
    assert off.top_ups == [] and off.runs_out_on == date(2027, 3, 20)
    unpaid = make(spend="2", credit="20", funds="0", card=False)
    assert [(t.on, t.paid_by) for t in unpaid.top_ups] == [(date(2027, 3, 17), "none")]
    assert unpaid.runs_out_on == date(2027, 3, 20)


# The coming bills take their share of business funds ----------------------------------------
# 2 € a day from 20 €, 10 € steps below 5 €, 19 % VAT (11.90 each): top-ups on 17, 22 and
# 27 March, 1 and 6 April; 25 € of business funds.
BILLED = {"spend": "2", "credit": "20", "funds": "25", "tax_rate": D("19")}


def test_a_bill_before_a_top_up_that_drains_the_funds_sends_the_top_up_to_the_card():
    forecast = make(**BILLED, bills=[(date(2027, 3, 15), "20.00")])
    assert forecast.bills_from_funds == (True,)  # 25 → 5
    assert [t.paid_by for t in forecast.top_ups] == ["card"] * 5
    without = make(**BILLED)  # what it said before: the funds paid two top-ups
    assert [t.paid_by for t in without.top_ups][:3] == ["business_funds"] * 2 + ["card"]


def test_a_bill_after_a_top_up_finds_the_funds_the_top_up_left():
    forecast = make(**BILLED, bills=[(date(2027, 3, 18), "10.00")])
    # 17 March: the top-up from funds (25 → 13.10); 18 March: the bill (→ 3.10); then card
    assert [t.paid_by for t in forecast.top_ups][:2] == ["business_funds", "card"]
    assert forecast.bills_from_funds == (True,)
    # a bill the funds left no longer cover is not theirs (the card pays it, or nothing)
    larger = make(**BILLED, bills=[(date(2027, 3, 18), "20.00")])
    assert larger.bills_from_funds == (False,)
    assert [t.paid_by for t in larger.top_ups][:3] == ["business_funds", "business_funds", "card"]


def test_a_bill_on_a_top_ups_day_comes_first_as_the_bill_run_issues_it_at_midnight():
    forecast = make(**BILLED, bills=[(date(2027, 3, 17), "20.00")])
    assert forecast.top_ups[0].on == date(2027, 3, 17)
    assert forecast.bills_from_funds == (True,)
    assert forecast.top_ups[0].paid_by == "card"


def test_without_a_card_the_top_up_after_the_bill_is_paid_by_nothing():
    forecast = make(**BILLED, card=False, bills=[(date(2027, 3, 15), "20.00")])
    assert [(t.on, t.paid_by) for t in forecast.top_ups] == [(date(2027, 3, 17), "none")]
    assert forecast.runs_out_on == date(2027, 3, 20)  # 20 € at 2 € a day, none after


def test_bills_in_day_order_each_whole_when_covered_even_past_the_horizon_or_without_calls():
    # Handed in out of order; one due before today (not issued yet) comes first; a bill the
    # funds do not cover is skipped, a later smaller one is still theirs (as the bill run).
    bills = [(date(2027, 5, 1), "4.00"), (date(2027, 3, 9), "15.00"), (date(2027, 4, 1), "12.00")]
    quiet = make(spend="0", funds="25", bills=bills)
    assert quiet.bills_from_funds == (True, True, False)
    busy = make(**BILLED, bills=bills)
    # 9 March 15 → 10; 17 March the top-up (11.90) by card; 1 April 12 → not covered; 1 May 4
    assert busy.bills_from_funds == (True, True, False)
    assert busy.top_ups[0].paid_by == "card"


# The selector ---------------------------------------------------------------------------------

NOW = datetime(2027, 3, 10, 11, 0, tzinfo=UTC)


@time_machine.travel(NOW, tick=False)
def test_selector_reads_thirty_days_of_calls_the_credit_and_the_settings(
    customer, make_account, django_assert_max_num_queries
):
    credit(customer, "50")
    spend(customer, "30")  # 20 € left
    fund(customer, "15")
    card_on(customer)
    turn_on(customer, value="10", threshold="5")
    rated(customer, "40", at=datetime(2027, 3, 9, 9, tzinfo=UTC), call_id="a")
    rated(customer, "20", at=datetime(2027, 2, 10, 9, tzinfo=UTC), call_id="b")  # in: day 1
    rated(customer, "99", at=datetime(2027, 2, 8, 9, tzinfo=UTC), call_id="c")  # too old
    other = make_account(currency="EUR")
    rated(other, "500", at=datetime(2027, 3, 9, 9, tzinfo=UTC), call_id="d")
    with django_assert_max_num_queries(12):
        forecast = call_credit_forecast(account=customer)
    assert forecast.daily_spend.amount == D("2")  # 60 € over 30 days
    assert forecast.credit.amount == D("20")
    assert (forecast.status, forecast.runs_out_on, forecast.auto_top_up) == ("lasts", None, True)
    first, second = forecast.top_ups[:2]
    assert (first.on, first.amount.amount, first.gross.amount) == (
        date(2027, 3, 17),
        D("10.00"),
        D("11.90"),  # 19 % German VAT
    )
    assert (first.paid_by, first.label) == ("business_funds", "Business funds")
    assert second.paid_by == "card" and second.label.endswith("•••• 4242")
    assert forecast.until == date(2027, 4, 8)


@time_machine.travel(NOW, tick=False)
def test_selector_without_calls_or_settings(customer):
    credit(customer, "5")
    rated(customer, "3", at=datetime(2027, 3, 9, tzinfo=UTC), call_id="x", status="not_rated")
    forecast = call_credit_forecast(account=customer)
    assert (forecast.status, forecast.auto_top_up, forecast.top_ups) == ("no_calls", False, [])
