"""Reads of auto top-up, always scoped to one account."""

from dataclasses import dataclass

from django.db.models import QuerySet

from billtone.accounts.models import Account
from billtone.catalog.selectors import credit_quick_add
from billtone.core.errors import NotFound
from billtone.core.money import Money
from billtone.rating.models import AutoTopUp, TopUp

RECENT = 20


@dataclass(frozen=True)
class AutoTopUpView:
    """The settings as the page and the API show them (defaults before the first save)."""

    enabled: bool
    currency: str
    value: Money | None
    threshold: Money | None
    low_credit_level: Money | None
    values_offered: list[Money]
    consecutive_failures: int
    turned_off_reason: str
    turned_off_at: object
    paused_reason: str


def auto_top_up_get(*, account: Account) -> AutoTopUpView:
    currency = account.billing_profile.currency
    setting = AutoTopUp.objects.filter(account=account).first()
    same = setting is not None and setting.currency == currency

    def money(amount):
        return Money(amount, currency).rounded() if same and amount else None

    return AutoTopUpView(
        enabled=bool(same and setting.enabled),
        currency=currency,
        value=money(setting.value) if same else None,
        threshold=money(setting.threshold) if same else None,
        low_credit_level=(
            Money(setting.low_credit_level, currency).rounded()
            if same and setting.low_credit_level is not None
            else None
        ),
        values_offered=credit_quick_add(currency=currency),
        consecutive_failures=setting.consecutive_failures if setting else 0,
        turned_off_reason=setting.turned_off_reason if setting else "",
        turned_off_at=setting.turned_off_at if setting else None,
        paused_reason=setting.paused_reason if same else "",
    )


def top_up_list(*, account: Account) -> QuerySet[TopUp]:
    return (
        TopUp.objects.filter(account=account)
        .select_related("invoice")
        .order_by("-created_at", "-id")
    )


def top_up_get(*, account: Account, top_up_id: int) -> TopUp:
    top_up = top_up_list(account=account).filter(pk=top_up_id).first()
    if top_up is None:
        raise NotFound("No such top-up in this account.")
    return top_up
