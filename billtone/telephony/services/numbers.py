"""The numbers' lifecycle: held for an account while in its basket, released, the holds that
ran out given back to the inventory, cancelled; and the operator's inventory filled."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q

from billtone.accounts.models import Account
from billtone.accounts.selectors import billing_profile_get
from billtone.catalog.models import Product
from billtone.catalog.selectors import offer_get, operator_profile_get
from billtone.core import clock
from billtone.core.errors import NotFound, ValidationFailed
from billtone.core.services import Actor, audit_record
from billtone.telephony import events, hooks
from billtone.telephony.errors import AccountSuspended, NumberUnavailable
from billtone.telephony.models import PhoneNumber, PhoneNumberStatus
from billtone.telephony.numbers import TYPE_NAMES, inventory_parse, line_errors
from billtone.telephony.selectors import account_is_suspended, account_today
from billtone.telephony.services.shared import SYSTEM, event_queue, numbers_lock

HOLD_EXTEND_MAX_MINUTES = 24 * 60


def _takeable(now) -> Q:
    """A number no one may keep from another account: free, or its hold ran out."""
    return Q(status=PhoneNumberStatus.AVAILABLE) | Q(
        status=PhoneNumberStatus.HELD, held_until__lt=now
    )


def number_hold(*, account: Account, number_id: int, actor: Actor = SYSTEM) -> PhoneNumber:
    """Hold the number for the account for the operator's hold time (its basket line).

    One conditional UPDATE takes it only if it is free or its hold has run out. Of two
    accounts asking at once, PostgreSQL makes the second wait for the first's row and
    re-checks the condition on the row the first wrote: it no longer matches, so the second
    gets NumberUnavailable (409). No lock is taken before, none is held after. A suspended
    account holds none (AccountSuspended)."""
    if account_is_suspended(account):
        raise AccountSuspended()
    number = PhoneNumber.objects.filter(pk=number_id).only("product_id").first()
    if number is None:
        raise NotFound("No such number.")
    currency = billing_profile_get(account=account).currency
    try:
        offer_get(product_id=number.product_id, currency=currency)
    except NotFound:
        raise ValidationFailed({"number": [f"This number is not sold in {currency}."]}) from None
    now = clock.now()
    until = now + timedelta(minutes=operator_profile_get().number_hold_minutes)
    with transaction.atomic():
        taken = PhoneNumber.objects.filter(_takeable(now), pk=number_id).update(
            status=PhoneNumberStatus.HELD, account=account, held_until=until
        )
        if not taken:
            mine = PhoneNumber.objects.filter(
                pk=number_id, account=account, status=PhoneNumberStatus.HELD
            )
            if mine.exists():
                raise NumberUnavailable("This number is held for you already: see your basket.")
            raise NumberUnavailable()
        number = PhoneNumber.objects.select_related("product").get(pk=number_id)
        audit_record(
            actor=actor,
            action="phone_number.hold",
            obj=number,
            changes={"held_until": [None, until.isoformat()]},
            account_id=account.pk,
        )
    return number


def number_hold_extend(*, account: Account, number_ids: list[int], minutes: int) -> set[int]:
    """Make the account's live holds last at least `minutes` from now (checkout, while a card
    payment or 3-D Secure is in progress). A hold that has run out is not revived: checkout
    then says so. Returns the ids still held for the account."""
    if not 0 < minutes <= HOLD_EXTEND_MAX_MINUTES:
        raise ValidationFailed(
            {"minutes": [f"A hold is extended by 1 to {HOLD_EXTEND_MAX_MINUTES} minutes."]}
        )
    now = clock.now()
    until = now + timedelta(minutes=minutes)
    live = PhoneNumber.objects.filter(
        pk__in=number_ids, account=account, status=PhoneNumberStatus.HELD, held_until__gte=now
    )
    live.filter(held_until__lt=until).update(held_until=until)
    return set(live.values_list("pk", flat=True))


def number_release(*, account: Account, number_id: int) -> bool:
    """Give a number the account holds back to the inventory (its basket line removed).
    False when the account does not hold it (released already, or its hold lapsed and someone
    else took it): nothing to do."""
    released = PhoneNumber.objects.filter(
        pk=number_id, account=account, status=PhoneNumberStatus.HELD
    ).update(status=PhoneNumberStatus.AVAILABLE, account=None, held_until=None)
    return bool(released)


def holds_lapse() -> int:
    """Periodic: every hold that has run out goes back to the inventory. Safe beside a
    checkout: the update skips a number items_activate has locked and assigned meanwhile."""
    return PhoneNumber.objects.filter(
        status=PhoneNumberStatus.HELD, held_until__lt=clock.now()
    ).update(status=PhoneNumberStatus.AVAILABLE, account=None, held_until=None)


@transaction.atomic
def number_cancel(*, account: Account, number_id: int, actor: Actor) -> PhoneNumber:
    """The operator takes a number back from the account at once: back to the inventory;
    when it was in service the PBX is told (`items.cancelled`) and the registered listeners
    (hooks) that its service ended today. A number it only holds is released; another's is
    NotFound. (A customer cancels through item_cancel, which may end the service later.)"""
    number = numbers_lock(ids=[number_id]).get(number_id)
    if number is None or number.account_id != account.pk:
        raise NotFound("No such number in this account.")
    return number_end(account=account, number=number, actor=actor, action="phone_number.cancel")


IN_SERVICE = (PhoneNumberStatus.ASSIGNED, PhoneNumberStatus.SUSPENDED)


def number_end(
    *, account: Account, number: PhoneNumber, actor: Actor, action: str, tell: bool = True
) -> PhoneNumber:
    """The locked number of the account back to the inventory now. If it was in service
    (assigned or suspended), the PBX is told; with `tell`, the listeners too (a customer's
    cancellation told them when it was asked for)."""
    in_service = number.status in IN_SERVICE
    before = number.status
    now = clock.now()
    cancelled = events.items_event(
        event_type=events.ITEMS_CANCELLED, account_id=account.pk, at=now, numbers=[number]
    )
    number.status, number.account, number.held_until, number.assigned_at, number.cancels_on = (
        PhoneNumberStatus.AVAILABLE,
        None,
        None,
        None,
        None,
    )
    number.save(update_fields=["status", "account", "held_until", "assigned_at", "cancels_on"])
    audit_record(
        actor=actor,
        action=action,
        obj=number,
        changes={"status": [before, number.status]},
        account_id=account.pk,
    )
    if in_service:
        event_queue(cancelled)
        if tell:
            hooks.cancelled_tell(
                account=account,
                item=hooks.CancelledItem(kind=hooks.PHONE_NUMBER, id=number.pk),
                ends_on=account_today(account=account, at=now),
                at=now,
            )
    return number


def _number_product(*, country: str, number_type: str) -> Product | None:
    products = Product.objects.filter(kind=Product.Kind.NUMBER, number_country=country)
    return products.filter(number_type=number_type).order_by("-active", "position", "pk").first()


def numbers_import(*, text: str, country: str, number_type: str, actor: Actor) -> int:
    """Add numbers to the inventory: one E.164 number per line, all of `country` and
    `number_type`, sold as the catalog's number product for them. All or nothing: any bad
    line (not a number, another country or type, twice, in the inventory already) and
    nothing is imported; ValidationFailed names each bad line. Returns how many were added."""
    country = country.strip().upper()
    if number_type not in TYPE_NAMES:
        raise ValidationFailed({"number_type": ["Choose a number type."]})
    parsed = inventory_parse(text, country=country, number_type=number_type)
    problems = list(parsed.problems)
    product = _number_product(country=country, number_type=number_type)
    if product is None:
        type_name = TYPE_NAMES[number_type]
        problems.append((0, f"The catalog has no {type_name} number product for {country}."))
    known = set(PhoneNumber.objects.filter(e164__in=parsed.numbers).values_list("e164", flat=True))
    problems += [
        (line, f"{e164} is in the inventory already.")
        for line, e164 in parsed.lines
        if e164 in known
    ]
    if problems:
        raise ValidationFailed(
            {"numbers": list(line_errors(problems))}, detail="Nothing was imported."
        )
    now = clock.now()
    rows = [
        PhoneNumber(
            e164=e164, country=country, number_type=number_type, product=product, created_at=now
        )
        for e164 in parsed.numbers
    ]
    try:
        with transaction.atomic():
            PhoneNumber.objects.bulk_create(rows)
            audit_record(
                actor=actor,
                action="phone_number.import",
                obj=product,
                changes={"numbers": [None, len(rows)]},
            )
    except IntegrityError:  # another import added some of them meanwhile
        raise ValidationFailed(
            {"numbers": ["Some of these numbers were added meanwhile: nothing was imported."]},
            detail="Nothing was imported.",
        ) from None
    return len(rows)
