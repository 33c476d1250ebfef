"""Phone users: added (Pay As You Go active at once, paid plans waiting for payment in the
basket), discarded from the basket, cancelled."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from billtone.accounts.models import Account
from billtone.accounts.selectors import billing_profile_as_loaded
from billtone.catalog.models import Product
from billtone.catalog.selectors import offer_get
from billtone.core import clock
from billtone.core.errors import NotFound, ValidationFailed
from billtone.core.services import Actor, audit_record
from billtone.telephony import events, hooks
from billtone.telephony.errors import AccountSuspended
from billtone.telephony.models import EXTENSION_PATTERN, PhoneUser, PhoneUserStatus
from billtone.telephony.selectors import account_is_suspended, account_today
from billtone.telephony.services.shared import SYSTEM, event_queue, users_lock

NAME_MAX = 100


def _extension_taken(*, account: Account, extension: str) -> ValidationFailed | None:
    holder = (
        PhoneUser.objects.filter(account=account, extension=extension)
        .exclude(status=PhoneUserStatus.CANCELLED)
        .first()
    )
    if holder is None:
        return None
    return ValidationFailed(
        {"extension": [f"Extension {extension} is already {holder.name}'s: choose another."]}
    )


def _user_fields_check(*, name: str, email: str, extension: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Enter the user's name."]
    elif len(name) > NAME_MAX:
        errors["name"] = [f"A name is at most {NAME_MAX} characters."]
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = ["Enter a valid email address."]
    if not re.fullmatch(EXTENSION_PATTERN, extension):
        errors["extension"] = ["An extension is 2 to 6 digits."]
    return errors


def _plan_is_free(*, account: Account, plan: Product) -> bool:
    """Whether the plan costs nothing in the account's currency (Pay As You Go: the user
    pays for calls only, so is active at once); ValidationFailed if it is not sold there."""
    currency = billing_profile_as_loaded(account=account).currency
    if plan.kind != Product.Kind.PLAN:
        raise ValidationFailed({"plan": [f"{plan.name} is not a user plan."]})
    try:
        offer = offer_get(product_id=plan.pk, currency=currency)
    except NotFound:
        raise ValidationFailed({"plan": [f"{plan.name} is not sold in {currency}."]}) from None
    return offer.price.amount == 0 and offer.setup.amount == 0


def phone_user_create(
    *, account: Account, name: str, email: str, extension: str, plan: Product, actor: Actor
) -> PhoneUser:
    """A new user of the account. On a free plan (Pay As You Go) the user is active at once
    and the PBX told (`items.allocated`); on a paid plan it waits for payment (the basket
    adds its line; checkout's items_activate makes it active). An extension is unique among
    the account's users that are not cancelled: ValidationFailed names who has it. A
    suspended account adds none (AccountSuspended)."""
    if account_is_suspended(account):
        raise AccountSuspended()
    name, email, extension = name.strip(), email.strip(), extension.strip()
    errors = _user_fields_check(name=name, email=email, extension=extension)
    try:
        free = _plan_is_free(account=account, plan=plan)
    except ValidationFailed as refused:
        errors.update(refused.errors)
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                user = PhoneUser.objects.create(
                    account=account,
                    name=name,
                    email=email,
                    extension=extension,
                    plan=plan,
                    status=PhoneUserStatus.ACTIVE if free else PhoneUserStatus.PENDING_PAYMENT,
                    created_at=now,
                    activated_at=now if free else None,
                )
        except IntegrityError:  # the extension is taken (the unique constraint says so)
            raise _extension_taken(account=account, extension=extension) or ValidationFailed(
                {"extension": [f"Extension {extension} is already taken: choose another."]}
            ) from None
        audit_record(
            actor=actor,
            action="phone_user.create",
            obj=user,
            changes={"extension": [None, extension], "status": [None, user.status]},
            account_id=account.pk,
        )
        if free:
            event_queue(
                events.items_event(
                    event_type=events.ITEMS_ALLOCATED, account_id=account.pk, at=now, users=[user]
                )
            )
    return user


def _user_locked(*, account: Account, user_id: int) -> PhoneUser:
    user = users_lock(account=account, ids=[user_id]).get(user_id)
    if user is None:
        raise NotFound("No such phone user in this account.")
    return user


@transaction.atomic
def phone_user_discard(*, account: Account, user_id: int, actor: Actor = SYSTEM) -> PhoneUser:
    """A user waiting for payment taken out of the basket: cancelled, its extension free
    again. A user already cancelled stays so (a second discard changes nothing); an active
    one is refused (that is phone_user_cancel)."""
    user = _user_locked(account=account, user_id=user_id)
    if user.status == PhoneUserStatus.CANCELLED:
        return user
    if user.status != PhoneUserStatus.PENDING_PAYMENT:
        raise ValidationFailed(
            {"user": [f"{user} is active already: cancel the user instead."]},
            detail=f"{user} is active already.",
        )
    return _cancel(user=user, actor=actor, action="phone_user.discard")


@transaction.atomic
def phone_user_cancel(*, account: Account, user_id: int, actor: Actor) -> PhoneUser:
    """The operator's cancellation, at once: its extension free again; the PBX told
    (`items.cancelled`) and the registered listeners (hooks) that its service ended today,
    when the user was in service. Cancelling a cancelled user changes nothing. (A customer
    cancels through item_cancel, which may end the service later.)"""
    user = _user_locked(account=account, user_id=user_id)
    if user.status == PhoneUserStatus.CANCELLED:
        return user
    return phone_user_end(
        account=account, user=user, actor=actor, action="phone_user.cancel", tell=True
    )


IN_SERVICE = (PhoneUserStatus.ACTIVE, PhoneUserStatus.SUSPENDED)


def phone_user_end(
    *, account: Account, user: PhoneUser, actor: Actor, action: str, tell: bool
) -> PhoneUser:
    """Mark the locked user cancelled now. If it was in service (active or suspended), the
    PBX is told; with `tell`, the listeners too (a customer's cancellation told them when it
    was asked for)."""
    in_service = user.status in IN_SERVICE
    user = _cancel(user=user, actor=actor, action=action)
    if in_service:
        event_queue(
            events.items_event(
                event_type=events.ITEMS_CANCELLED,
                account_id=user.account_id,
                at=user.cancelled_at,
                users=[user],
            )
        )
        if tell:
            hooks.cancelled_tell(
                account=account,
                item=hooks.CancelledItem(kind=hooks.PHONE_USER, id=user.pk),
                ends_on=account_today(account=account, at=user.cancelled_at),
                at=user.cancelled_at,
            )
    return user


def _cancel(*, user: PhoneUser, actor: Actor, action: str) -> PhoneUser:
    before = user.status
    user.status, user.cancelled_at = PhoneUserStatus.CANCELLED, clock.now()
    user.save(update_fields=["status", "cancelled_at"])
    audit_record(
        actor=actor,
        action=action,
        obj=user,
        changes={"status": [before, user.status]},
        account_id=user.account_id,
    )
    return user
