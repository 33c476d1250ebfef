"""Reads of monthly billing: which accounts a bill run must bill now, and Next Bill (the
account's next bills, computed by the engine the bill run uses, and how each will be paid)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import CharField, Exists, F, OuterRef, Q, Value
from django.db.models.functions import Cast, Concat

from billtone.accounts.models import Account, BillingProfile
from billtone.billing.engine import (
    SubscriptionTerms,
    bills_ahead,
    month_end,
    period_due,
    period_key,
)
from billtone.billing.models import BillCollection, BillRun
from billtone.catalog.models import OperatorProfile
from billtone.catalog.selectors import operator_profile_get, tax_rates
from billtone.catalog.tax import TaxRateMissing, TaxTreatment, tax_treatment
from billtone.core import clock
from billtone.core.money import Money
from billtone.invoicing.models import Invoice, Subscription
from billtone.invoicing.selectors import invoices_open
from billtone.ledger.models import LedgerKind
from billtone.ledger.selectors import customer_ledger_account_get
from billtone.payments.selectors import auto_payments_enabled, card_default_get
from billtone.rating.forecast import ComingBill
from billtone.rating.forecast_selectors import CallCreditForecast, call_credit_forecast

KEY_PREFIX = "bill:"


def bill_key(*, account_id: int, period: date) -> str:
    """The source key of an account's bill for a period: unique, so billed once."""
    return f"{KEY_PREFIX}{account_id}:{period_key(period)}"


def account_tax(*, profile: BillingProfile, operator: OperatorProfile, rates) -> TaxTreatment:
    return tax_treatment(
        operator_country=operator.country,
        customer_country=profile.country,
        customer_vat_id=profile.tax_id,
        rates=rates,
    )


def _billable(period_end: date):
    """Active subscriptions with a day not billed yet on or before `period_end`."""
    not_billed = Q(paid_through__isnull=True, started_on__lte=period_end) | Q(
        paid_through__lt=period_end
    )
    not_ended = (
        Q(ends_on__isnull=True) | Q(paid_through__isnull=True) | Q(ends_on__gt=F("paid_through"))
    )
    return Subscription.objects.filter(not_billed, not_ended, status=Subscription.Status.ACTIVE)


def accounts_due(*, at: datetime) -> list[int]:
    """The accounts with a billable subscription whose bill moment for the period due at
    `at` has come and whose bill for it is not issued yet, in id order. An account whose
    time zone cannot be read is listed (its bill then fails with the reason)."""
    billing_day = operator_profile_get().billing_day
    active = Subscription.objects.filter(status=Subscription.Status.ACTIVE)
    zones = (
        BillingProfile.objects.filter(account_id__in=active.values("account_id"))
        .values_list("timezone", flat=True)
        .distinct()
    )
    due: set[int] = set()
    for zone in zones:
        in_zone = Q(account__billing_profile__timezone=zone)
        try:
            period = period_due(at, timezone=zone, billing_day=billing_day)
        except (ZoneInfoNotFoundError, ValueError):
            due.update(active.filter(in_zone).values_list("account_id", flat=True))
            continue
        issued = Invoice.objects.filter(
            source_key=Concat(
                Value(KEY_PREFIX),
                Cast(OuterRef("account_id"), CharField()),
                Value(f":{period_key(period)}"),
            )
        )
        due.update(
            _billable(month_end(period))
            .filter(in_zone)
            .filter(~Exists(issued))
            .values_list("account_id", flat=True)
        )
    return sorted(due)


@dataclass(frozen=True)
class NextBillLine:
    description: str
    kind: str  # plan | number
    period_start: date
    period_end: date
    quantity: int
    unit_price: Money  # net
    amount: Money  # net
    tax_rate: Decimal


@dataclass(frozen=True)
class NextBillTax:
    rate: Decimal
    taxable: Money
    tax: Money


@dataclass(frozen=True)
class NextBillPayment:
    """How the bill will be paid, as far as can be told now: `method` business_funds, card
    or none (then `warning` says why, for the page)."""

    method: str
    label: str  # "Business funds", "Visa •••• 4242", ""
    warning: str = ""


@dataclass(frozen=True)
class NextBill:
    period: date  # first day of the month billed
    moment: datetime  # aware UTC: when the bill run issues it
    issue_date: date  # the bill's date in the account's time zone
    due_now: bool  # its moment has passed: the next bill run issues it
    currency: str
    lines: list[NextBillLine]
    net: Money
    tax: Money
    gross: Money
    taxes: list[NextBillTax]
    reverse_charge: bool
    tax_mention: str
    payment: NextBillPayment


def _billed_periods(account: Account) -> set[date]:
    keys = Invoice.objects.filter(source_key__startswith=f"{KEY_PREFIX}{account.pk}:")
    periods = set()
    for key in keys.values_list("source_key", flat=True):
        year, month = key.rsplit(":", 1)[1].split("-")
        periods.add(date(int(year), int(month), 1))
    return periods


def account_subscription_terms(*, account: Account) -> list[SubscriptionTerms]:
    active = Subscription.objects.filter(account=account, status=Subscription.Status.ACTIVE)
    return [SubscriptionTerms.of(row) for row in active.order_by("id")]


def _open_invoices_from_funds(*, account: Account, currency: str, funds: Decimal) -> list[Decimal]:
    """What business funds pay of the open invoices, oldest first and whole, stopping at the
    first they do not cover, as arriving funds and dunning tries pay them."""
    paid = []
    for invoice in invoices_open(account=account).only("gross", "credited", "currency"):
        due = invoice.gross - invoice.credited
        if invoice.currency != currency or due > funds:
            break
        funds -= due
        paid.append(due)
    return paid


# Bills asked of the engine at least, so that every bill within the forecast's 30 days takes
# its share of business funds before the top-ups after it: a bill due now and two billing days.
_FORECAST_BILLS = 3


def next_bills(*, account: Account, count: int = 3) -> list[NextBill]:
    """The account's next `count` bills (next_bills_with_forecast)."""
    return next_bills_with_forecast(account=account, count=count)[0]


def next_bills_with_forecast(
    *, account: Account, count: int = 3
) -> tuple[list[NextBill], CallCreditForecast]:
    """The account's next `count` bills, as the bill run will issue them (the same engine),
    each with how it will be paid, and rating's call-credit forecast, which counted them.
    Business funds and the auto top-ups take their share in day order (each bill at midnight
    on its date, before that day's top-ups): the open invoices they cover first (today),
    then each bill they cover whole when the operator bills from funds, and each top-up;
    else the default card when automatic payments are on, else a warning. TaxRateMissing
    when the VAT cannot be decided."""
    profile = BillingProfile.objects.get(account=account)
    operator = operator_profile_get()
    currency = profile.currency
    now = clock.now()
    zone = ZoneInfo(profile.timezone)
    today = now.astimezone(zone).date()
    tax = account_tax(profile=profile, operator=operator, rates=tax_rates())
    ahead = bills_ahead(
        account_subscription_terms(account=account),
        after=now,
        timezone=profile.timezone,
        billing_day=operator.billing_day,
        tax=tax,
        currency=currency,
        count=max(count, _FORECAST_BILLS),
        billed_periods=_billed_periods(account),
    )
    dates = [bill.moment.astimezone(zone).date() for bill in ahead]
    funds_row = customer_ledger_account_get(account=account, kind=LedgerKind.BUSINESS_FUNDS)
    coming: list[ComingBill] = []  # the open invoices funds pay, then the bills they may pay
    if funds_row is not None:  # no funds: nothing is paid from them
        funds = funds_row.balance - (funds_row.floor or 0)
        opened = _open_invoices_from_funds(account=account, currency=currency, funds=funds)
        coming = [ComingBill(today, due) for due in opened]
    opened_count = len(coming)
    if funds_row is not None and operator.bills_from_funds:
        coming += [
            ComingBill(on, b.plan.totals.gross.amount) for on, b in zip(dates, ahead, strict=True)
        ]
    forecast = call_credit_forecast(account=account, today=today, bills=coming)
    from_funds = forecast.bills_from_funds[opened_count:]  # empty unless bills may be
    card = card_default_get(account=account) if auto_payments_enabled(account=account) else None
    bills = []
    for index, bill in enumerate(ahead[:count]):
        totals = bill.plan.totals
        if index < len(from_funds) and from_funds[index]:
            payment = NextBillPayment("business_funds", "Business funds")
        elif card is not None:
            payment = NextBillPayment("card", f"{card.brand_display} •••• {card.last4}")
        else:
            payment = NextBillPayment(
                "none",
                "",
                "Neither your business funds nor a card with automatic payments will cover "
                "this bill: add funds or turn on automatic payments.",
            )
        bills.append(
            NextBill(
                period=bill.period,
                moment=bill.moment,
                issue_date=dates[index],
                due_now=bill.moment <= now,
                currency=currency,
                lines=[
                    NextBillLine(
                        description=t.line.description,
                        kind=t.line.kind,
                        period_start=t.line.period_start,
                        period_end=t.line.period_end,
                        quantity=t.line.quantity,
                        unit_price=t.line.unit_price,
                        amount=t.net,
                        tax_rate=t.rate,
                    )
                    for t in totals.lines
                ],
                net=totals.net,
                tax=totals.tax,
                gross=totals.gross,
                taxes=[NextBillTax(rate, rt.taxable, rt.tax) for rate, rt in totals.rates],
                reverse_charge=totals.reverse_charge,
                tax_mention=tax.mention or "",
                payment=payment,
            )
        )
    return bills, forecast


@dataclass(frozen=True)
class Coming:
    """Next Bill's bills and the call-credit forecast that counted them; `problem` says why
    there are no bills when the VAT is not set up (no bill can be issued then, so the
    forecast counts none)."""

    bills: list[NextBill]
    forecast: CallCreditForecast
    problem: str = ""


def coming_get(*, account: Account, count: int = 3) -> Coming:
    """The pages' read of next_bills_with_forecast: a VAT not set up said, not raised."""
    try:
        return Coming(*next_bills_with_forecast(account=account, count=count))
    except TaxRateMissing as missing:
        return Coming([], call_credit_forecast(account=account), missing.detail)


def bill_run_live(*, stale_after: timedelta) -> BillRun | None:
    """The run still running with progress within `stale_after`, if any. One running with
    no progress for longer was abandoned (its process killed): not live."""
    return (
        BillRun.objects.filter(
            status=BillRun.Status.RUNNING, updated_at__gte=clock.now() - stale_after
        )
        .order_by("-started_at")
        .first()
    )


def bills_uncollected(*, account_ids=None):
    """Open bills never collected (their run died between issuing and collecting): ids of
    the invoices, and of their accounts, for the next run to collect."""
    rows = Invoice.objects.filter(
        source_key__startswith=KEY_PREFIX, status=Invoice.Status.OPEN
    ).filter(~Exists(BillCollection.objects.filter(invoice_id=OuterRef("pk"))))
    if account_ids is not None:
        rows = rows.filter(account_id__in=account_ids)
    return rows
