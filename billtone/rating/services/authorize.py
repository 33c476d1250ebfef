"""Call authorization (issue 19 item 5; docs/decisions/0028-call-authorization.md).

"May this account call this number, and for how long?" Everything but the credit is read
without locks; then, in one short transaction, the account's call-credit ledger row is
locked (the row the ingestion locks to debit), the open holds summed, the answer computed
and a hold inserted. Two authorizations of one account thus run one after the other, each
seeing the other's hold: ten at once never promise the same euro twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce

from billtone.accounts.models import Account
from billtone.catalog.selectors import operator_profile_get
from billtone.core import clock
from billtone.core.errors import NotFound
from billtone.ledger.models import LedgerAccount, LedgerKind
from billtone.ledger.services import customer_ledger_accounts, ledger_accounts_lock
from billtone.rating import calls
from billtone.rating.allowance import MAX_CALL_SECONDS, call_allowance
from billtone.rating.cdr_models import Cdr, EmergencyNumber
from billtone.rating.core import Tariff
from billtone.rating.hold_models import CallHold
from billtone.rating.selectors import prefix_table, rate_deck_in_force
from billtone.rating.services.cdr_decide import account_id_of
from billtone.telephony.models import PhoneUser
from billtone.telephony.selectors import account_is_suspended

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
    account = (
        Account.objects.filter(pk=pk).select_related("billing_profile").first()
        if pk is not None
        else None
    )
    if account is None:
        raise NotFound(f"No account {account_code.strip()[:40]!r}.")
    profile = account.billing_profile
    emergency = frozenset(
        EmergencyNumber.objects.filter(country__in=[profile.country, ""]).values_list(
            "number", flat=True
        )
    )
    to = calls.destination_classify(destination, country=profile.country, emergency=emergency)
    if to.kind is calls.DestinationKind.EMERGENCY:
        return Authorization(True, MAX_CALL_SECONDS, reason="emergency")
    if account_is_suspended(account):
        return Authorization(False, 0, reason="suspended")
    if to.kind is calls.DestinationKind.NOT_A_NUMBER:
        return Authorization(False, 0, reason="not_a_number")
    now = clock.now()
    deck = rate_deck_in_force(currency=profile.currency, at=now)
    tariff = prefix_table(deck=deck).lookup(to.digits) if deck is not None else None
    if tariff is None:
        return Authorization(False, 0, reason="no_rate", destination=to.e164)
    phone_user, included = _included(account, user=user, to=to.country, now=now)
    ledger = _call_credit(account)
    with transaction.atomic():
        credit = ledger_accounts_lock(ids=[ledger.pk])[ledger.pk]
        if call_id:
            CallHold.objects.filter(account=account, call_id=call_id).delete()
        held = CallHold.objects.filter(account=account, expires_at__gt=now).aggregate(
            amount=Coalesce(Sum("amount"), _ZERO),
            seconds=Coalesce(Sum("included_seconds", filter=Q(phone_user=phone_user)), 0),
        )
        available = credit.balance - credit.floor - held["amount"]
        left = included - held["seconds"] if phone_user is not None else 0
        allowance = call_allowance(tariff, available=available, included_left=left)
        answer = Authorization(
            allowance.seconds > 0,
            allowance.seconds,
            reason="" if allowance.seconds else "no_credit",
            destination=to.e164,
            destination_name=tariff.destination,
            prefix=tariff.prefix,
            tariff=tariff,
            currency=credit.currency,
        )
        if not allowance.seconds:
            return answer
        hold = CallHold.objects.create(
            account=account,
            phone_user=phone_user if allowance.included_seconds else None,
            destination=to.e164,
            call_id=call_id,
            amount=allowance.cost,
            currency=credit.currency,
            seconds=allowance.seconds,
            included_seconds=allowance.included_seconds,
            created_at=now,
            expires_at=now + timedelta(seconds=allowance.seconds) + HOLD_GRACE,
        )
    return Authorization(
        **{
            **answer.__dict__,
            "held": allowance.cost,
            "included_seconds": allowance.included_seconds,
            "hold_id": hold.pk,
        }
    )


def _call_credit(account: Account) -> LedgerAccount:
    currency = account.billing_profile.currency
    found = LedgerAccount.objects.filter(
        account=account, kind=LedgerKind.CALL_CREDIT, currency=currency
    ).first()
    return found if found is not None else customer_ledger_accounts(account=account).call_credit


def _included(account: Account, *, user: str, to: str, now) -> tuple[PhoneUser | None, int]:
    """The caller whose plan's included minutes cover a call to country `to`, and the
    seconds of them its rated calls of this billing period left (before holds)."""
    if not user:
        return None, 0
    phone_user = (
        PhoneUser.objects.filter(account=account, extension=user.strip())
        .exclude(status=PhoneUser.Status.CANCELLED)
        .select_related("plan")
        .first()
    )
    plan = phone_user.plan if phone_user is not None else None
    profile = account.billing_profile
    if (
        plan is None
        or not plan.included_minutes
        or not calls.included_applies(
            scope=plan.included_scope,
            countries=plan.included_country_set,
            home=profile.country,
            to=to,
        )
    ):
        return None, 0
    period = calls.period_start(
        now, timezone=profile.timezone, billing_day=operator_profile_get().billing_day
    )
    used = Cdr.objects.filter(
        phone_user=phone_user, period_start=period, included_seconds__gt=0
    ).aggregate(seconds=Coalesce(Sum("included_seconds"), 0))["seconds"]
    return phone_user, max(plan.included_minutes * 60 - used, 0)


def holds_release(*, cdrs) -> int:
    """Delete the holds of these calls, inside the ingestion's transaction: a hold taken with
    a call id by that id; else, per CDR, the oldest open hold without one for its account and
    destination. Returns how many were released."""
    accounts = {cdr.call_id: cdr.account_id for cdr in cdrs if cdr.account_id}
    ids = list(accounts)
    released = 0
    matched: set[str] = set()
    for n in range(0, len(ids), 2000):
        rows = CallHold.objects.filter(call_id__in=ids[n : n + 2000]).values_list(
            "call_id", "account_id", "pk"
        )
        found = {pk: call_id for call_id, account_id, pk in rows if accounts[call_id] == account_id}
        matched.update(found.values())
        if found:
            released += CallHold.objects.filter(pk__in=found).delete()[0]
    rest = [
        cdr
        for cdr in cdrs
        if cdr.call_id not in matched and cdr.account_id and cdr.destination_e164
    ]
    if not rest:
        return released
    wanted: dict[tuple[int, str], int] = {}
    for cdr in rest:
        key = (cdr.account_id, cdr.destination_e164)
        wanted[key] = wanted.get(key, 0) + 1
    open_holds = CallHold.objects.filter(
        call_id="",
        account_id__in={a for a, _ in wanted},
        destination__in={d for _, d in wanted},
        expires_at__gt=clock.now(),
    ).values_list("pk", "account_id", "destination")
    doomed = []
    for pk, account_id, dest in open_holds.order_by("created_at", "pk"):
        if wanted.get((account_id, dest), 0) > 0:
            wanted[(account_id, dest)] -= 1
            doomed.append(pk)
    if doomed:
        released += CallHold.objects.filter(pk__in=doomed).delete()[0]
    return released
