"""Reads of phone users and numbers, scoped to one account (the inventory's free numbers
aside: anyone may choose one)."""

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Q, QuerySet

from billtone.accounts.models import Account
from billtone.accounts.selectors import billing_profile_as_loaded
from billtone.core import clock
from billtone.core.errors import NotFound
from billtone.telephony import hooks
from billtone.telephony.cancellation import Cancellation, cancellable_check, item_name, item_of
from billtone.telephony.models import (
    PhoneNumber,
    PhoneNumberStatus,
    PhoneUser,
    PhoneUserStatus,
)
from billtone.telephony.numbers import e164_display

NUMBERS_AVAILABLE_MAX = 200


def account_is_suspended(account: Account) -> bool:
    """Whether the account's service is suspended now (an invoice unpaid: decision 0020)."""
    # Plain SQL: read by every checkout; the ORM's query building cost ten times the round
    # trip (decision 0021).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM telephony_accountsuspension "
            "WHERE account_id = %s AND suspended_at IS NOT NULL",
            [account.pk],
        )
        return cursor.fetchone() is not None


def phone_users_list(*, account: Account, include_cancelled: bool = False) -> QuerySet[PhoneUser]:
    """The account's users by extension; cancelled ones only when asked for."""
    users = PhoneUser.objects.filter(account=account).select_related("plan")
    if not include_cancelled:
        users = users.exclude(status=PhoneUserStatus.CANCELLED)
    return users.order_by("extension", "id")


def phone_user_get(*, account: Account, user_id: int) -> PhoneUser:
    user = PhoneUser.objects.filter(account=account, pk=user_id).select_related("plan").first()
    if user is None:
        raise NotFound("No such phone user in this account.")
    return user


def phone_numbers_list(*, account: Account) -> QuerySet[PhoneNumber]:
    """The numbers the account has or holds (a hold that ran out included, until the
    periodic sweep gives it back), by number."""
    return (
        PhoneNumber.objects.filter(account=account).select_related("product").order_by("e164", "id")
    )


def numbers_available(
    *,
    country: str | None = None,
    number_type: str | None = None,
    currency: str | None = None,
    limit: int = 50,
) -> list[PhoneNumber]:
    """Numbers anyone may hold now: free, or their hold has run out; with `currency`, only
    those whose product is sold in it."""
    now = clock.now()
    found = PhoneNumber.objects.filter(
        Q(status=PhoneNumberStatus.AVAILABLE) | Q(status=PhoneNumberStatus.HELD, held_until__lt=now)
    )
    if country:
        found = found.filter(country=country.upper())
    if number_type:
        found = found.filter(number_type=number_type)
    if currency:
        found = found.filter(product__active=True, product__prices__currency=currency)
    limit = max(1, min(limit, NUMBERS_AVAILABLE_MAX))
    return list(found.select_related("product").order_by("country", "number_type", "e164")[:limit])


def number_get_held(*, account: Account, number_id: int) -> PhoneNumber:
    """A number the account holds now (its hold not run out); NotFound otherwise: the
    basket's line then says the hold lapsed."""
    number = (
        PhoneNumber.objects.filter(
            pk=number_id,
            account=account,
            status=PhoneNumberStatus.HELD,
            held_until__gte=clock.now(),
        )
        .select_related("product")
        .first()
    )
    if number is None:
        raise NotFound("This number is not held for this account (its hold may have lapsed).")
    return number


def number_get(*, account: Account, number_id: int) -> PhoneNumber:
    """One of the account's numbers (held or assigned); NotFound for anyone else's."""
    number = PhoneNumber.objects.filter(pk=number_id, account=account).first()
    if number is None:
        raise NotFound("No such number in this account.")
    return number


@dataclass(frozen=True)
class NumberRow:
    """A number as the Billing panel lists it."""

    number: PhoneNumber
    display: str  # +31 20 123 4567
    status: str  # assigned | suspended | held | lapsed
    status_display: str
    held_until: datetime | None


def number_rows(*, numbers: list[PhoneNumber], now: datetime | None = None) -> list[NumberRow]:
    now = now or clock.now()
    rows = []
    for number in numbers:
        if number.status == PhoneNumberStatus.ASSIGNED:
            status, shown = "assigned", "Active"
        elif number.status == PhoneNumberStatus.SUSPENDED:
            status, shown = "suspended", "Suspended"
        elif number.held_until is not None and number.held_until >= now:
            status, shown = "held", "Held"
        else:
            status, shown = "lapsed", "Hold lapsed"
        rows.append(
            NumberRow(
                number=number,
                display=e164_display(number.e164),
                status=status,
                status_display=shown,
                held_until=number.held_until if status == "held" else None,
            )
        )
    return rows


def account_today(*, account: Account, at: datetime | None = None) -> date:
    """The date `at` (now by default) falls on in the account's time zone."""
    zone = ZoneInfo(billing_profile_as_loaded(account=account).timezone)
    return (at or clock.now()).astimezone(zone).date()


def cancellation_preview(*, account: Account, item: PhoneUser | PhoneNumber) -> Cancellation:
    """What cancelling the account's item now would do (the confirm page shows it): refused
    with NotCancellable as item_cancel would be; otherwise the day its service would end, the
    latest the registered listeners give (the end of the period already billed), today if
    none says later."""
    cancellable_check(item)
    today = account_today(account=account)
    ends_on = hooks.service_ends_on(account=account, item=item_of(item), today=today)
    return Cancellation(
        item=item_of(item), name=item_name(item), ends_on=ends_on, at_once=ends_on <= today
    )
