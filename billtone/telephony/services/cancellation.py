"""A customer cancels one of its users or numbers (the Users & Numbers page, the API). Its
service ends on the day the registered listeners give (billing: the end of the period already
billed; hooks.py), today if none says later: at once then, otherwise the item stays in
service with `cancels_on` set and a periodic task (cancellations_finish) ends it once that
day is over in the account's time zone. The listeners are told inside the cancellation's
transaction, so the subscription ends with it or not at all."""

from datetime import timedelta

from django.db import transaction

from billtone.accounts.models import Account
from billtone.core import clock
from billtone.core.errors import NotFound
from billtone.core.services import Actor, audit_record
from billtone.telephony import hooks
from billtone.telephony.cancellation import Cancellation
from billtone.telephony.models import PhoneNumber, PhoneNumberStatus, PhoneUser, PhoneUserStatus
from billtone.telephony.selectors import account_today, cancellation_preview
from billtone.telephony.services.numbers import number_end
from billtone.telephony.services.shared import SYSTEM, numbers_lock, users_lock
from billtone.telephony.services.users import phone_user_end


def _item_locked(*, account: Account, item: hooks.CancelledItem) -> PhoneUser | PhoneNumber:
    if item.kind == hooks.PHONE_USER:
        found = users_lock(account=account, ids=[item.id]).get(item.id)
        if found is None:
            raise NotFound("No such phone user in this account.")
        return found
    found = numbers_lock(ids=[item.id]).get(item.id)
    if found is None or found.account_id != account.pk:
        raise NotFound("No such number in this account.")
    return found


def _end(*, account: Account, item, actor: Actor, action: str) -> None:
    """End the locked item's service now; the listeners were told when it was cancelled."""
    if isinstance(item, PhoneUser):
        phone_user_end(account=account, user=item, actor=actor, action=action, tell=False)
    else:
        number_end(account=account, number=item, actor=actor, action=action, tell=False)


@transaction.atomic
def item_cancel(*, account: Account, item: hooks.CancelledItem, actor: Actor) -> Cancellation:
    """Cancel the account's user or number (in service, not cancelled already: otherwise
    NotCancellable; another account's: NotFound). At once when its service ends today (the
    user's extension free again, the number back in the inventory, `items.cancelled`),
    otherwise on `cancels_on`. The listeners are told either way, in this transaction."""
    found = _item_locked(account=account, item=item)
    cancellation = cancellation_preview(account=account, item=found)
    if cancellation.at_once:
        _end(account=account, item=found, actor=actor, action=f"{item.kind}.cancel")
    else:
        found.cancels_on = cancellation.ends_on
        found.save(update_fields=["cancels_on"])
        audit_record(
            actor=actor,
            action=f"{item.kind}.cancel_scheduled",
            obj=found,
            changes={"cancels_on": [None, cancellation.ends_on.isoformat()]},
            account_id=account.pk,
        )
    hooks.cancelled_tell(account=account, item=item, ends_on=cancellation.ends_on, at=clock.now())
    return cancellation


def _due(model, statuses) -> list:
    """Items whose cancellation may be due: no time zone is more than a day ahead of UTC, so
    those whose last day is before tomorrow in UTC; each is checked in its own zone."""
    horizon = clock.now().date() + timedelta(days=1)
    found = model.objects.filter(cancels_on__lt=horizon, status__in=statuses)
    return list(found.select_related("account__billing_profile").order_by("pk"))


def cancellations_finish() -> int:
    """Periodic: end every user and number whose last day of service is over in its
    account's time zone (users cancelled, extensions free; numbers back in the inventory,
    available again; `items.cancelled`). Each in its own transaction, re-checked under its
    lock, so running it twice, or beside a customer's action, ends each once. Returns how
    many it ended."""
    ended = 0
    in_service = {
        PhoneUser: (PhoneUserStatus.ACTIVE, PhoneUserStatus.SUSPENDED),
        PhoneNumber: (PhoneNumberStatus.ASSIGNED, PhoneNumberStatus.SUSPENDED),
    }
    for model, statuses in in_service.items():
        for candidate in _due(model, statuses):
            account = candidate.account
            if candidate.cancels_on >= account_today(account=account):
                continue
            kind = hooks.PHONE_USER if model is PhoneUser else hooks.PHONE_NUMBER
            with transaction.atomic():
                item = _item_locked(account=account, item=hooks.CancelledItem(kind, candidate.pk))
                still_due = item.status in statuses and item.cancels_on == candidate.cancels_on
                if still_due:
                    _end(account=account, item=item, actor=SYSTEM, action=f"{kind}.cancel_end")
                    ended += 1
    return ended
