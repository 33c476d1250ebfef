"""A customer moves an active phone user to another paid plan (the Users & Numbers page, the
API). When it takes effect is the registered listeners' answer (billing: the operator's
plan-change policy, hooks.py), today if none says later: the user's plan changes at once
then (`users.plan_changed` to the PBX), otherwise `next_plan` / `plan_changes_on` are set
and the periodic task (plan_changes_finish, run with cancellations_finish) applies it on
that day in the account's time zone. The listeners are told inside the change's
transaction, so the subscription moves with it or not at all."""

from datetime import timedelta

from django.db import transaction

from billtone.accounts.models import Account
from billtone.catalog.models import Product
from billtone.core import clock
from billtone.core.errors import NotFound
from billtone.core.services import Actor, audit_record
from billtone.telephony import events, hooks
from billtone.telephony.models import PhoneUser, PhoneUserStatus
from billtone.telephony.plan_change import PlanChange, plan_change_preview
from billtone.telephony.selectors import account_today
from billtone.telephony.services.shared import SYSTEM, event_queue, users_lock


def _apply(*, user: PhoneUser, plan: Product, actor: Actor, action: str) -> None:
    """Put the locked user on `plan` now and tell the PBX."""
    previous = user.plan
    user.plan, user.next_plan, user.plan_changes_on = plan, None, None
    user.save(update_fields=["plan", "next_plan", "plan_changes_on"])
    audit_record(
        actor=actor,
        action=action,
        obj=user,
        changes={"plan": [previous.code, plan.code]},
        account_id=user.account_id,
    )
    event_queue(events.plan_changed_event(user=user, previous_plan=previous.code, at=clock.now()))


@transaction.atomic
def phone_user_plan_change(
    *, account: Account, user_id: int, plan_id: int, actor: Actor
) -> PlanChange:
    """Move the account's active user to the paid plan `plan_id` (another account's user:
    NotFound; see plan_change_preview for what is refused). At once when it takes effect
    today, otherwise scheduled for `starts_on`. The listeners are told either way."""
    user = users_lock(account=account, ids=[user_id]).get(user_id)
    if user is None:
        raise NotFound("No such phone user in this account.")
    change = plan_change_preview(account=account, user=user, plan_id=plan_id)
    if change.at_once:
        _apply(user=user, plan=change.plan, actor=actor, action="phone_user.plan_change")
    else:
        user.next_plan, user.plan_changes_on = change.plan, change.starts_on
        user.save(update_fields=["next_plan", "plan_changes_on"])
        audit_record(
            actor=actor,
            action="phone_user.plan_change_scheduled",
            obj=user,
            changes={
                "next_plan": [None, change.plan.code],
                "plan_changes_on": [None, change.starts_on.isoformat()],
            },
            account_id=account.pk,
        )
    hooks.plan_changed_tell(
        account=account,
        user_id=user.pk,
        plan=change.plan,
        starts_on=change.starts_on,
        at=clock.now(),
    )
    return change


def plan_changes_finish() -> int:
    """Periodic: put every user whose scheduled plan change is due (its first day has come
    in the account's time zone) on its next plan, and tell the PBX. Each in its own
    transaction, re-checked under its lock: run twice, each changes once. A user cancelled
    meanwhile keeps its plan. Returns how many changed."""
    horizon = clock.now().date() + timedelta(days=1)  # no zone is a day ahead of UTC
    due = PhoneUser.objects.filter(
        plan_changes_on__lte=horizon,
        status__in=(PhoneUserStatus.ACTIVE, PhoneUserStatus.SUSPENDED),
    ).select_related("account__billing_profile")
    changed = 0
    for candidate in due.order_by("pk"):
        account = candidate.account
        if candidate.plan_changes_on > account_today(account=account):
            continue
        with transaction.atomic():
            user = users_lock(account=account, ids=[candidate.pk]).get(candidate.pk)
            if user is None or user.status == PhoneUserStatus.CANCELLED:
                continue
            if user.plan_changes_on != candidate.plan_changes_on:
                continue
            _apply(
                user=user, plan=user.next_plan, actor=SYSTEM, action="phone_user.plan_change_end"
            )
            changed += 1
    return changed
