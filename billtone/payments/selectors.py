"""Reads of saved cards and card payments, always scoped to one account."""

import calendar
import functools
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet, Sum

from billtone.accounts.models import Account
from billtone.core import clock
from billtone.core.errors import NotFound
from billtone.core.rows import ModelColumns, is_row_id
from billtone.payments.models import (
    AutoPaymentSetting,
    Payment,
    PaymentStatus,
    SavedCard,
)

EXPIRES_SOON_DAYS = 30


@dataclass(frozen=True)
class CardExpiry:
    expires_on: date  # the last day the card works: the end of its expiry month
    days_left: int

    @property
    def expired(self) -> bool:
        return self.days_left < 0

    @property
    def expires_soon(self) -> bool:
        return 0 <= self.days_left <= EXPIRES_SOON_DAYS


@dataclass(frozen=True)
class CardRow:
    """A saved card as the Billing panel lists it."""

    card: SavedCard
    expiry: CardExpiry
    auto_payments: bool  # automatic payments charge this card

    @property
    def pk(self) -> int:
        return self.card.pk


def account_today(*, account: Account, now: datetime | None = None) -> date:
    """Today's date in the account's time zone."""
    moment = now or clock.now()
    return moment.astimezone(ZoneInfo(account.billing_profile.timezone)).date()


def card_expiry(*, card: SavedCard, today: date | None = None) -> CardExpiry:
    """When the card stops working, counted in its account's time zone."""
    today = today or account_today(account=card.account)
    last_day = calendar.monthrange(card.exp_year, card.exp_month)[1]
    expires_on = date(card.exp_year, card.exp_month, last_day)
    return CardExpiry(expires_on=expires_on, days_left=(expires_on - today).days)


def card_list(*, account: Account) -> QuerySet[SavedCard]:
    """The account's cards, default first, then newest."""
    return SavedCard.objects.filter(account=account, removed_at__isnull=True).select_related(
        "account__billing_profile"
    )


def card_get(*, account: Account, card_id: int) -> SavedCard:
    """The account's active card `card_id`, its account the `account` given (not joined
    again: decision 0021)."""
    sql, columns = _card_get_query()
    found = columns.fetch(sql, [card_id, account.pk]) if is_row_id(card_id) else []
    if not found:
        raise NotFound("No such card in this account.")
    card = found[0]
    card.account = account
    return card


@functools.cache
def _card_get_query() -> tuple[str, ModelColumns]:
    """Every card checkout reads its card: written once (core/rows.py; decision 0021)."""
    columns = ModelColumns(SavedCard, "c")
    sql = (
        f"SELECT {columns.select} FROM {columns.table} "  # noqa: S608 (names from the model)
        "WHERE c.id = %s AND c.account_id = %s AND c.removed_at IS NULL"
    )
    return sql, columns


def card_saved_as(
    *,
    account: Account,
    gateway: str,
    fingerprint: str,
    brand: str,
    last4: str,
    exp_month: int,
    exp_year: int,
) -> SavedCard | None:
    """The account's active card at `gateway` that is this card: the same fingerprint, or,
    where either has none, the same brand, last four digits and expiry (decision 0016)."""
    same_details = Q(brand=brand, last4=last4, exp_month=exp_month, exp_year=exp_year)
    same = (
        same_details
        if not fingerprint
        else Q(fingerprint=fingerprint) | (Q(fingerprint="") & same_details)
    )
    return card_list(account=account).filter(same, gateway=gateway).order_by("pk").first()


def card_default_get(*, account: Account) -> SavedCard | None:
    return card_list(account=account).filter(is_default=True).first()


def auto_payments_enabled(*, account: Account) -> bool:
    return AutoPaymentSetting.objects.filter(account=account, uses_default_card=True).exists()


def accounts_auto_paying(*, account_ids: Collection[int]) -> set[int]:
    """Of these accounts, those whose automatic payments may charge the default card."""
    return set(
        AutoPaymentSetting.objects.filter(
            account_id__in=account_ids, uses_default_card=True
        ).values_list("account_id", flat=True)
    )


def accounts_with_default_card(*, account_ids: Collection[int]) -> set[int]:
    """Of these accounts, those with a default card (not removed)."""
    return set(
        SavedCard.objects.filter(
            account_id__in=account_ids, is_default=True, removed_at__isnull=True
        ).values_list("account_id", flat=True)
    )


def card_rows(*, account: Account) -> list[CardRow]:
    today = account_today(account=account)
    auto = auto_payments_enabled(account=account)
    return [
        CardRow(
            card=card,
            expiry=card_expiry(card=card, today=today),
            auto_payments=auto and card.is_default,
        )
        for card in card_list(account=account)
    ]


def gateway_customer_for(*, account: Account, gateway: str) -> str:
    """The gateway's customer that the account's cards at `gateway` belong to, if any."""
    return (
        SavedCard.objects.filter(account=account, gateway=gateway)
        .exclude(gateway_customer="")
        .order_by("pk")
        .values_list("gateway_customer", flat=True)
        .first()
        or ""
    )


def payment_list(*, account: Account, kind: str | None = None) -> QuerySet[Payment]:
    """The account's card payments, newest first."""
    payments = Payment.objects.filter(account=account).select_related("card")
    if kind:
        payments = payments.filter(kind=kind)
    return payments


def payment_get(*, account: Account, payment_id: int) -> Payment:
    payment = payment_list(account=account).filter(pk=payment_id).first()
    if payment is None:
        raise NotFound("No such payment in this account.")
    return payment


def payment_by_key(*, account: Account, idempotency_key: str) -> Payment | None:
    """The account's payment made under this idempotency key, if one was ever started."""
    return payment_list(account=account).filter(idempotency_key=idempotency_key).first()


def payment_refunded_amount(*, payment: Payment) -> Decimal:
    """What the refunds of a charge take back (asked for, on their way, or made)."""
    refunds = payment.refunds.exclude(status=PaymentStatus.FAILED)
    return refunds.aggregate(total=Sum("amount"))["total"] or Decimal(0)


def payment_stale_ids(*, older_than: timedelta, limit: int = 500) -> list[int]:
    """Payments whose outcome we do not know and that nobody is working on now."""
    cutoff = clock.now() - older_than
    return list(
        Payment.objects.filter(
            status__in=[PaymentStatus.PENDING, PaymentStatus.ERRORED], updated_at__lt=cutoff
        )
        .order_by("updated_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def cards_expiring_candidates(*, now: datetime | None = None) -> QuerySet[SavedCard]:
    """Active cards whose expiry month ends within the next EXPIRES_SOON_DAYS (give or take a
    day for time zones); card_expiry decides in each account's time zone."""
    moment = now or clock.now()
    months = set()
    for offset in range(-1, EXPIRES_SOON_DAYS + 2):
        day = (moment + timedelta(days=offset)).date()
        months.add((day.year, day.month))
    in_window = Q(pk__in=[])
    for year, month in months:
        in_window |= Q(exp_year=year, exp_month=month)
    return (
        SavedCard.objects.filter(in_window, removed_at__isnull=True)
        .select_related("account__billing_profile")
        .order_by("pk")
    )


@dataclass(frozen=True)
class CardsSection:
    """The saved cards part of the Payment methods page."""

    rows: list[CardRow]
    auto_payments: bool
    default: SavedCard | None
    recent_payments: list[Payment]
    locale: str

    @property
    def chargeable(self) -> list[SavedCard]:
        return [row.card for row in self.rows if not row.expiry.expired]


def cards_section_get(*, account: Account, recent: int = 5) -> CardsSection:
    from billtone.ledger.selectors import account_locale

    rows = card_rows(account=account)
    return CardsSection(
        rows=rows,
        auto_payments=auto_payments_enabled(account=account),
        default=next((row.card for row in rows if row.card.is_default), None),
        recent_payments=list(payment_list(account=account)[:recent]),
        locale=account_locale(account=account),
    )


def payments_unsettled(*, account: Account, currency: str) -> bool:
    """Whether a card payment in `currency` is still on its way (not yet in the ledger)."""
    return Payment.objects.filter(
        account=account,
        currency=currency,
        status__in=[PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION, PaymentStatus.ERRORED],
    ).exists()
