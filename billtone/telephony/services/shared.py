"""What the telephony services share: the one way they lock users and numbers (by id, in
id order), and the one way they tell the PBX (webhook deliveries queued in the caller's
transaction, sent after it commits)."""

import functools
from collections.abc import Iterable

from django.db import connection, transaction

from billtone.accounts.models import Account
from billtone.catalog.models import Product
from billtone.core.rows import ModelColumns, is_row_id
from billtone.core.services import Actor
from billtone.notifications.services import webhook_event_queue
from billtone.telephony.events import ItemsEvent
from billtone.telephony.models import PhoneNumber, PhoneUser

SYSTEM = Actor.system("telephony")


def _storable(ids: Iterable[int]) -> list[int]:
    """`ids` sorted, without those no row can have (core.rows.is_row_id)."""
    return sorted({i for i in ids if is_row_id(i)})


def users_lock(*, account: Account, ids: Iterable[int]) -> dict[int, PhoneUser]:
    """The account's users among `ids`, locked in id order (another account's are left out)."""
    # The plans are read by a second query, not joined: PostgreSQL re-checks a locked row
    # that changed meanwhile against the joined rows it read before, and would drop a user
    # whose plan a concurrent change just moved.
    ids = _storable(ids)
    if not ids:  # no query to build (a checkout of numbers only)
        return {}
    lock_sql, users = _users_lock_query(len(ids))
    locked = users.fetch(lock_sql, [account.pk, *ids])
    plan_ids = sorted({user.plan_id for user in locked})
    if plan_ids:
        plan_sql, plans = _plans_query(len(plan_ids))
        by_id = {plan.pk: plan for plan in plans.fetch(plan_sql, plan_ids)}
        for user in locked:
            user.plan = by_id[user.plan_id]
    return {user.pk: user for user in locked}


@functools.lru_cache(maxsize=32)
def _users_lock_query(count: int) -> tuple[str, ModelColumns]:
    """Every card checkout locks its users: written once (core/rows.py; decision 0021)."""
    users = ModelColumns(PhoneUser, "u")
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    marks = ", ".join(["%s"] * count)
    sql = (
        f"SELECT {users.select} FROM {users.table} "  # noqa: S608 (names from the model)
        f"WHERE u.account_id = %s AND u.id IN ({marks}) ORDER BY u.id{lock}"
    )
    return sql, users


@functools.lru_cache(maxsize=32)
def _plans_query(count: int) -> tuple[str, ModelColumns]:
    """The locked users' plans (see users_lock; decision 0021)."""
    plans = ModelColumns(Product, "p")
    marks = ", ".join(["%s"] * count)
    return f"SELECT {plans.select} FROM {plans.table} WHERE p.id IN ({marks})", plans  # noqa: S608 (names from the model)


def numbers_lock(*, ids: Iterable[int]) -> dict[int, PhoneNumber]:
    """The numbers `ids`, whoever holds them, locked in id order. Callers lock users first."""
    ids = _storable(ids)
    if not ids:  # no query to build (a checkout of users only: decision 0021)
        return {}
    locked = PhoneNumber.objects.select_for_update().filter(pk__in=ids)
    return {number.pk: number for number in locked.order_by("pk")}


def event_queue(event: ItemsEvent) -> None:
    """Store the event's webhook deliveries in the current transaction; notifications sends
    them after it commits (and not at all if it rolls back). No savepoint of its own: nothing
    here is caught, an error rolls back the caller's transaction."""
    with transaction.atomic(savepoint=False):
        webhook_event_queue(event_type=event.event_type, payload=event.payload, key=event.key)
