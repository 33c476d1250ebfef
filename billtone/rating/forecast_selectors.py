"""The call-credit forecast's inputs, read in a few queries (issue 19 item 6)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from billtone.accounts.models import Account
from billtone.catalog.selectors import operator_profile_get, tax_rates
from billtone.catalog.tax import TaxRateMissing, tax_treatment
from billtone.core import clock
from billtone.core.money import Money
from billtone.ledger.models import LedgerAccount, LedgerKind
from billtone.payments import selectors as payment_selectors
from billtone.rating.cdr_models import Cdr, CdrStatus
from billtone.rating.forecast import (
    DAYS,
    ComingBill,
    TopUpSettings,
    call_credit_forecast_make,
    daily_spend,
)
from billtone.rating.hold_models import CallHold
from billtone.rating.models import AutoTopUp, TopUp, TopUpStatus

_ZERO = Decimal(0)


@dataclass(frozen=True)
class ExpectedTopUpView:
    on: date
    quantity: int
    amount: Money  # net call credit
    gross: Money  # what is paid
    paid_by: str  # business_funds | card | none
    label: str  # "Business funds", "Visa •••• 4242", ""


@dataclass(frozen=True)
class CallCreditForecast:
    currency: str
    status: str  # runs_out | lasts | no_calls
    daily_spend: Money
    credit: Money  # above its floor, less open holds
    runs_out_on: date | None
    until: date  # the last day the forecast looks at
    auto_top_up: bool
    top_ups: list[ExpectedTopUpView]
    held_back: str
    bills_from_funds: tuple[bool, ...] = ()  # per bill handed in: business funds pay it

    @property
    def top_ups_gross(self) -> Money:
        return sum((t.gross for t in self.top_ups), Money.zero(self.currency))


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _card_label(account: Account) -> str:
    """The default card that auto top-up may charge, as shown; "" when none may be."""
    if not payment_selectors.auto_payments_enabled(account=account):
        return ""
    card = payment_selectors.card_default_get(account=account)
    if card is None or payment_selectors.card_expiry(card=card).expired:
        return ""
    return f"{card.brand_display} •••• {card.last4}"


def _tax_rate(account: Account) -> Decimal:
    profile, operator = account.billing_profile, operator_profile_get()
    try:
        return tax_treatment(
            operator_country=operator.country,
            customer_country=profile.country,
            customer_vat_id=profile.tax_id,
            rates=tax_rates(),
        ).rate
    except TaxRateMissing:  # the top-up will fail until the operator sets it; not here
        return _ZERO


def call_credit_forecast(
    *, account: Account, today: date | None = None, bills: Sequence[ComingBill] = ()
) -> CallCreditForecast:
    """When the account's call credit is expected to run out and the auto top-ups expected
    in the next DAYS days, from its rated calls of the last DAYS days (today included).
    `bills`: those business funds may pay, which take their share on their dates (billing,
    above rating, hands them in: `billing.selectors.next_bills_with_forecast`); without
    them the top-ups are paid as if no bill came first."""
    profile = account.billing_profile
    currency, zone = profile.currency, ZoneInfo(profile.timezone or "UTC")
    today = today or clock.now().astimezone(zone).date()
    balances = {
        kind: balance - (floor or 0)
        for kind, balance, floor in LedgerAccount.objects.filter(
            account=account,
            currency=currency,
            kind__in=[LedgerKind.CALL_CREDIT, LedgerKind.BUSINESS_FUNDS],
        ).values_list("kind", "balance", "floor")
    }
    charged = Cdr.objects.filter(
        account=account,
        status=CdrStatus.RATED,
        currency=currency,
        started_at__gte=_midnight(today - timedelta(days=DAYS - 1), zone),
        started_at__lt=_midnight(today + timedelta(days=1), zone),
    ).aggregate(total=Coalesce(Sum("charged"), _ZERO))["total"]
    held = CallHold.objects.filter(
        account=account, currency=currency, expires_at__gt=clock.now()
    ).aggregate(total=Coalesce(Sum("amount"), _ZERO))["total"]
    setting = AutoTopUp.objects.filter(account=account, currency=currency).first()
    enabled = bool(setting and setting.enabled)
    settings = TopUpSettings(enabled=False, value=_ZERO, threshold=_ZERO)
    card = ""
    if enabled:
        taken = TopUp.objects.filter(
            account=account,
            status__in=[TopUpStatus.PENDING, TopUpStatus.SUCCEEDED],
            created_at__gte=_midnight(today.replace(day=1), zone),
        ).aggregate(
            month=Count("id"), today=Count("id", filter=Q(created_at__gte=_midnight(today, zone)))
        )
        operator = operator_profile_get()
        settings = TopUpSettings(
            enabled=True,
            value=setting.value,
            threshold=setting.threshold,
            tax_rate=_tax_rate(account),
            per_day=operator.auto_top_ups_per_day,
            per_month=operator.auto_top_ups_per_month,
            taken_today=taken["today"],
            taken_this_month=taken["month"],
        )
        card = _card_label(account)
    credit = balances.get(LedgerKind.CALL_CREDIT, _ZERO) - held
    made = call_credit_forecast_make(
        today=today,
        currency=currency,
        spend_per_day=daily_spend(charged, currency=currency),
        credit=credit,
        funds=balances.get(LedgerKind.BUSINESS_FUNDS, _ZERO),
        card=bool(card),
        settings=settings,
        bills=bills,
    )
    labels = {"business_funds": "Business funds", "card": card, "none": ""}
    return CallCreditForecast(
        currency=currency,
        status=made.status,
        daily_spend=Money(made.daily_spend, currency),
        credit=Money(credit, currency),
        runs_out_on=made.runs_out_on,
        until=today + timedelta(days=DAYS - 1),
        auto_top_up=enabled,
        top_ups=[
            ExpectedTopUpView(
                on=t.on,
                quantity=t.quantity,
                amount=Money(t.amount, currency).rounded(),
                gross=Money(t.gross, currency).rounded(),
                paid_by=t.paid_by,
                label=labels[t.paid_by],
            )
            for t in made.top_ups
        ],
        held_back=made.held_back,
        bills_from_funds=made.bills_from_funds,
    )
