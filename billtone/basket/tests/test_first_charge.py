"""Issue 17's first-charge policy through checkout, on a frozen clock: a monthly item bought on
or before the operator's cut-off day (the 19th) pays for the rest of its month by days; bought
after it, the rest of the month and all of the next. The day is the account's own: Auckland is
a day ahead of UTC, New York behind it. Month ends and a leap February included."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from billtone.accounts.models import BillingProfile
from billtone.basket import services
from billtone.invoicing.models import Invoice, Subscription

from .conftest import ACTOR, fund

CASES = [
    # (time zone, the moment in UTC, local first day, paid through, National's net: 12.00/month)
    # 01:00 on 5 Feb 2028 in Auckland (NZDT); 25 of leap February's 29 days
    (
        "Pacific/Auckland",
        datetime(2028, 2, 4, 12, tzinfo=UTC),
        date(2028, 2, 5),
        date(2028, 2, 29),
        "10.34",
    ),  # noqa: E501
    # 01:00 on 25 Feb 2028 in Auckland: 5/29 of February and all of March
    (
        "Pacific/Auckland",
        datetime(2028, 2, 24, 12, tzinfo=UTC),
        date(2028, 2, 25),
        date(2028, 3, 31),
        "14.07",
    ),  # noqa: E501
    # 10:00 on 5 Dec 2026 in New York (EST): 27/31 of December
    (
        "America/New_York",
        datetime(2026, 12, 5, 15, tzinfo=UTC),
        date(2026, 12, 5),
        date(2026, 12, 31),
        "10.45",
    ),  # noqa: E501
    # 22:00 on 25 Dec 2026 in New York, already the 26th in UTC: 7/31 and all of January 2027
    (
        "America/New_York",
        datetime(2026, 12, 26, 3, tzinfo=UTC),
        date(2026, 12, 25),
        date(2027, 1, 31),
        "14.71",
    ),  # noqa: E501
    # 31 January in New York: one day of January and all of February 2027 (28 days)
    (
        "America/New_York",
        datetime(2027, 1, 31, 17, tzinfo=UTC),
        date(2027, 1, 31),
        date(2027, 2, 28),
        "12.39",
    ),  # noqa: E501
]


@pytest.mark.parametrize(("timezone", "moment", "first_day", "paid_through", "net"), CASES)
def test_a_plan_bought_at_checkout_pays_the_periods_the_policy_says(
    customer, shop, timezone, moment, first_day, paid_through, net
):
    BillingProfile.objects.filter(account=customer).update(timezone=timezone)
    customer.billing_profile.refresh_from_db()
    with time_machine.travel(moment, tick=False):
        fund(customer, "100.00")
        services.basket_user_add(
            account=customer,
            name="Ada Lovelace",
            email="ada@acme.example",
            extension="201",
            plan_id=shop.national.pk,
            actor=ACTOR,
        )
        checkout = services.checkout_with_funds(
            account=customer, idempotency_key="first-charge", actor=ACTOR
        )

    assert checkout.status == "completed"
    subscription = Subscription.objects.get(account=customer)
    assert (subscription.started_on, subscription.paid_through) == (first_day, paid_through)
    invoice = Invoice.objects.get(account=customer)
    [line] = invoice.lines.all()
    assert (line.period_start, line.period_end) == (first_day, paid_through)
    assert line.net == Decimal(net)
    assert invoice.net == Decimal(net)
    assert invoice.tax == (Decimal(net) * Decimal("0.19")).quantize(Decimal("0.01"))
