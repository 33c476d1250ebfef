"""Call authorization (issue 19 item 5; docs/decisions/0028-call-authorization.md).

"May this account call this number, and for how long?" Everything but the credit is read
without locks; then, in one short transaction, the account's call-credit ledger row is
locked (the row the ingestion locks to debit), then the account's hold lock, the open
holds read from their running totals (decision 0033), the answer computed and a hold
inserted. Two authorizations of one account thus run one after the other, each
seeing the other's hold: ten at once never promise the same euro twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from billtone.accounts.models import Account
from billtone.catalog.selectors import operator_profile_get
from billtone.core import clock
from billtone.core.errors import NotFound
from billtone.ledger.services import customer_ledger_accounts
from billtone.rating import calls
from billtone.rating.allowance import MAX_CALL_SECONDS, call_allowance
from billtone.rating.core import Tariff
from billtone.rating.hold_models import CallHold
from billtone.rating.selectors import prefix_table_of
from billtone.rating.services import authorize_sql as sql
from billtone.rating.services.cdr_decide import account_id_of
from billtone.rating.services.cdr_store import rows_by_call_id
from billtone.rating.services.hold_totals import hold_totals_lock, holds_delete

# A hold outlives the longest call it allows by this much: the CDR is written after the
# call ends and may reach us a little later.
HOLD_GRACE = timedelta(minutes=5)
_ZERO = Decimal(0)


@dataclass(frozen=True)
class Authorization:
    allowed: bool
    max_seconds: int
    reason: str = ""  # why not allowed, or "emergency"
    destination: str = ""  # E.164
    destination_name: str = ""
    prefix: str = ""
    tariff: Tariff | None = None
    currency: str = ""
    held: Decimal = _ZERO
    included_seconds: int = 0
    hold_id: int | None = None


def call_authorize(
    *, account_code: str, destination: str, user: str = "", call_id: str = ""
) -> Authorization:
    """Whether the account may call `destination` now, for how long, and the hold it takes.

    `user`: the caller's extension, whose included minutes count. `call_id`: the switch's id
    for the call; its CDR then releases the hold exactly, and a repeated authorization of the
    same call replaces the hold. Raises NotFound for an unknown account.
    """
    pk = account_id_of(account_code)
    now = clock.now()
    dialled = calls.dialled_text(destination)
    context = (
        sql.authorize_context(
            account_id=pk, dialled=dialled, extension=user.strip(), call_id=call_id, now=now
        )
        if pk is not None
        else None
    )
    if context is None:
        raise NotFound(f"No account {account_code.strip()[:40]!r}.")
    emergency = frozenset([dialled]) if context.emergency else frozenset()
    to = calls.destination_classify(destination, country=context.country, emergency=emergency)
    if to.kind is calls.DestinationKind.EMERGENCY:
        return Authorization(True, MAX_CALL_SECONDS, reason="emergency")
    if context.suspended:
        return Authorization(False, 0, reason="suspended")
    if to.kind is calls.DestinationKind.NOT_A_NUMBER:
        return Authorization(False, 0, reason="not_a_number")
    deck = context.deck
    tariff = None
    if deck is not None:
        tariff = prefix_table_of(deck_id=deck[0], created_at=deck[1]).lookup(to.digits)
    if tariff is None:
        return Authorization(False, 0, reason="no_rate", destination=to.e164)
    return _held(context, tariff=tariff, to=to, call_id=call_id, now=now)


# Each refusal of hold_take means another authorization or a CDR took credit in between;
# the figures it returns are fresh. The bound only stops a bug from looping for ever.
_TAKE_ATTEMPTS = 100


def _held(context: sql.AuthorizeContext, *, tariff: Tariff, to, call_id: str, now) -> Authorization:
    """The allowance from the figures read without a lock, then the hold taken under the
    call credit's lock only if they still hold (sql.hold_take); else again from its fresh
    figures. Ten authorizations of one account at once thus never promise the same euro."""
    credit = context.credit
    if credit is None:  # made on first use
        account = Account.objects.select_related("billing_profile").get(pk=context.account_id)
        made = customer_ledger_accounts(account=account).call_credit
        credit = sql.Credit(made.pk, made.currency, made.floor, made.balance)
    phone_user_id, included_total, period = _included(context, to=to.country, now=now)
    available = credit.balance - credit.floor - context.held
    left = 0
    if phone_user_id is not None:
        used = context.latest_used if context.latest_period == period.isoformat() else 0
        left = max(included_total - used, 0) - context.held_seconds
    answer = Authorization(
        False,
        0,
        reason="no_credit",
        destination=to.e164,
        destination_name=tariff.destination,
        prefix=tariff.prefix,
        tariff=tariff,
        currency=credit.currency,
    )
    for _ in range(_TAKE_ATTEMPTS):
        allowance = call_allowance(tariff, available=available, included_left=left)
        if not allowance.seconds and not call_id:
            return answer
        taken = sql.hold_take(
            credit_id=credit.id,
            account_id=context.account_id,
            call_id=call_id,
            phone_user_id=phone_user_id,
            included_total=included_total,
            period=period,
            hold={
                "phone_user_id": phone_user_id if allowance.included_seconds else None,
                "destination": to.e164,
                "amount": allowance.cost,
                "currency": credit.currency,
                "seconds": allowance.seconds,
                "included_seconds": allowance.included_seconds,
                "expires_at": now + timedelta(seconds=allowance.seconds) + HOLD_GRACE,
            },
            now=now,
        )
        if taken.hold_id is not None:
            return replace(
                answer,
                allowed=True,
                max_seconds=allowance.seconds,
                reason="",
                held=allowance.cost,
                included_seconds=allowance.included_seconds,
                hold_id=taken.hold_id,
            )
        fresh = call_allowance(tariff, available=taken.available, included_left=taken.included_left)
        if not allowance.seconds and not fresh.seconds:
            return answer  # the call id's hold is gone; still nothing to allow
        available, left = taken.available, taken.included_left
    raise RuntimeError(f"no stable credit figures for account {context.account_id} after retries")


def _included(
    context: sql.AuthorizeContext, *, to: str, now
) -> tuple[int | None, int, date | None]:
    """The caller whose plan's included minutes cover a call to country `to` (its id), its
    included seconds per billing period, and the current period's first day."""
    caller = context.caller
    if (
        caller is None
        or not caller.included_minutes
        or not calls.included_applies(
            scope=caller.included_scope,
            countries=caller.included_countries,
            home=context.country,
            to=to,
        )
    ):
        return None, 0, None
    billing_day = context.billing_day
    if billing_day is None:
        billing_day = operator_profile_get().billing_day
    period = calls.period_start(now, timezone=context.timezone, billing_day=billing_day)
    return caller.phone_user_id, caller.included_minutes * 60, period


# Holds deleted per transaction: a long-idle server's backlog goes in short transactions.
PURGE_BATCH = 5000


def call_holds_purge(*, batch: int = PURGE_BATCH) -> int:
    """Delete the holds that expired before now (no query counts them: the CDR never came,
    or came without a match) and take them off their totals, under their accounts' hold locks
    (decision 0033); how many. Safe to run twice, or at once in two workers."""
    now = clock.now()
    purged = 0
    while True:
        doomed = list(
            CallHold.objects.filter(expires_at__lte=now)
            .order_by("expires_at")
            .values_list("pk", "account_id")[:batch]
        )
        if not doomed:
            return purged
        with transaction.atomic():
            hold_totals_lock(account_ids={account_id for _, account_id in doomed})
            purged += holds_delete(pks=[pk for pk, _ in doomed], expired_before=now)


def holds_release(*, cdrs) -> int:
    """Delete the holds of these calls, inside the ingestion's transaction: a hold taken with
    a call id by that id; else, per CDR, the oldest open hold without one for its account and
    destination. Taken off their totals under their accounts' hold locks (decision 0033).
    Returns how many were released."""
    accounts = {cdr.call_id: cdr.account_id for cdr in cdrs if cdr.account_id}
    rows = rows_by_call_id(CallHold, list(accounts), "call_id", "account_id", "id")
    found = {pk: call_id for call_id, account_id, pk in rows if accounts[call_id] == account_id}
    matched = set(found.values())
    doomed = {pk: accounts[call_id] for pk, call_id in found.items()}
    rest = [
        cdr
        for cdr in cdrs
        if cdr.call_id not in matched and cdr.account_id and cdr.destination_e164
    ]
    wanted: dict[tuple[int, str], int] = {}
    for cdr in rest:
        key = (cdr.account_id, cdr.destination_e164)
        wanted[key] = wanted.get(key, 0) + 1
    if wanted:
        # By account only (the destinations matched here): a batch's thousands of numbers as
        # parameters were most of this function's time; an account's open holds are few.
        open_holds = CallHold.objects.filter(
            call_id="", account_id__in={a for a, _ in wanted}, expires_at__gt=clock.now()
        ).values_list("pk", "account_id", "destination")
        for pk, account_id, dest in open_holds.order_by("created_at", "pk"):
            if wanted.get((account_id, dest), 0) > 0:
                wanted[(account_id, dest)] -= 1
                doomed[pk] = account_id
    if not doomed:
        return 0
    # Found without a lock; one another transaction deleted first is not counted twice.
    hold_totals_lock(account_ids=set(doomed.values()))
    return holds_delete(pks=doomed)
