"""Who made each call, where to, and at which rate: everything a batch needs read in a few
queries up front (`Context.load`), then one decision per record (`Context.decide`), without
locks. What the call costs after included minutes, and what the credit pays, is decided
later under the ledger locks (cdr_charge.py).

Who (docs/decisions/0027-cdr-rating.md): the switch's accountcode is the account's id; the
caller (`source`) is a phone user's extension in that account, or one of the account's
numbers (then the call has no phone user and uses no included minutes).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from billtone.accounts.models import Account
from billtone.catalog.models import Product
from billtone.catalog.selectors import operator_profile_get
from billtone.rating import calls
from billtone.rating.cdr_models import Cdr, CdrReason, CdrStatus, EmergencyNumber
from billtone.rating.cdrs.records import CallRecord, Disposition
from billtone.rating.core import Tariff
from billtone.rating.models import RateDeck
from billtone.rating.selectors import prefix_table
from billtone.telephony.models import PhoneNumber, PhoneUser

CALL_ID_LIMIT = Cdr._meta.get_field("call_id").max_length
_LIMITS = {
    name: Cdr._meta.get_field(name).max_length for name in ("account_code", "source", "destination")
}


@dataclass(frozen=True, slots=True)
class Payer:
    """The account that pays a call, as rating needs it (its billing profile's settings)."""

    pk: int
    currency: str
    country: str
    timezone: str


@dataclass
class Pending:
    """A call to rate: its CDR (a new row or a stored `Cdr` to update), who pays, its tariff
    and the plan's minutes."""

    cdr: Any  # cdr_store.CdrRow or Cdr: the same attributes
    payer: Payer
    tariff: Tariff
    deck_id: int
    plan: Product | None


@dataclass
class Context:
    accounts: dict[str, Payer]
    extensions: dict[int, dict[str, tuple[int, int]]]  # account: extension: (user, plan)
    plans: dict[int, Product]
    numbers: dict[int, set[str]]
    emergency: dict[str, frozenset[str]]
    decks: dict[str, list[RateDeck]]  # per currency, oldest first
    billing_day: int
    pending: list[Pending] = field(default_factory=list)

    @classmethod
    def load(cls, records: Sequence[CallRecord]) -> Context:
        ids = {code for r in records if (code := account_id_of(r.account_code)) is not None}
        rows = Account.objects.filter(pk__in=ids).values_list(
            "pk",
            "billing_profile__currency",
            "billing_profile__country",
            "billing_profile__timezone",
        )
        # Tuples, not Account and BillingProfile instances: a batch reads thousands.
        accounts = {str(pk): Payer(pk, *profile) for pk, *profile in rows}
        extensions: dict[int, dict[str, tuple[int, int]]] = {a.pk: {} for a in accounts.values()}
        users = (
            PhoneUser.objects.filter(account_id__in=[a.pk for a in accounts.values()])
            .exclude(status=PhoneUser.Status.CANCELLED)
            .values_list("account_id", "extension", "pk", "plan_id")
        )
        for account_id, extension, pk, plan_id in users:  # tuples: a batch reads thousands
            extensions[account_id][extension] = (pk, plan_id)
        plan_ids = {plan for users in extensions.values() for _, plan in users.values()}
        plans = Product.objects.in_bulk(plan_ids)
        numbers: dict[int, set[str]] = {a.pk: set() for a in accounts.values()}
        for account_id, e164 in PhoneNumber.objects.filter(
            account_id__in=list(numbers),
            status__in=[PhoneNumber.Status.ASSIGNED, PhoneNumber.Status.SUSPENDED],
        ).values_list("account_id", "e164"):
            numbers[account_id].add(e164)
        countries = {a.country for a in accounts.values()}
        rows = EmergencyNumber.objects.filter(country__in=countries | {""})
        everywhere = {n.number for n in rows if not n.country}
        emergency = {
            c: frozenset(everywhere | {n.number for n in rows if n.country == c}) for c in countries
        }
        currencies = {a.currency for a in accounts.values()}
        decks: dict[str, list[RateDeck]] = {c: [] for c in currencies}
        for deck in RateDeck.objects.filter(currency__in=currencies).order_by("effective_from"):
            decks[deck.currency].append(deck)
        return cls(
            accounts=accounts,
            extensions=extensions,
            plans=plans,
            numbers=numbers,
            emergency=emergency,
            decks=decks,
            billing_day=operator_profile_get().billing_day,
        )

    def deck_at(self, currency: str, at: datetime) -> RateDeck | None:
        decks = self.decks.get(currency, [])
        n = bisect.bisect_right([d.effective_from for d in decks], at)
        return decks[n - 1] if n else None

    def decide(self, record: CallRecord, cdr: Any) -> None:
        """Fill `cdr` from `record`: status and reason, or rated fields but the price."""
        _copy(record, cdr)
        problem = malformed(record)
        if problem:
            sent = record.call_id if isinstance(record.call_id, str) else ""
            return _reject(cdr, CdrReason.MALFORMED, f"{problem} (call id {sent[:80]!r})")
        account = self.accounts.get(str(account_id_of(record.account_code)))
        cdr.account_id = account.pk if account is not None else None
        if record.disposition != Disposition.ANSWERED:
            return _not_rated(cdr, CdrReason.UNANSWERED, f"The call ended {record.disposition}.")
        if account is None:
            return _reject(
                cdr, CdrReason.UNKNOWN_ACCOUNT, f"No account {record.account_code.strip()!r}."
            )
        profile = account
        cdr.currency = profile.currency
        to = calls.destination_classify(
            record.destination,
            country=profile.country,
            emergency=self.emergency.get(profile.country, frozenset()),
        )
        if to.kind is calls.DestinationKind.EMERGENCY:
            return _not_rated(cdr, CdrReason.EMERGENCY, "An emergency call: never charged.")
        if to.kind is calls.DestinationKind.NOT_A_NUMBER:
            return _not_rated(cdr, CdrReason.NOT_A_NUMBER, "Not a phone number.")
        cdr.destination_e164, cdr.destination_country = to.e164, to.country
        caller = (record.source or "").strip()
        user = self.extensions[account.pk].get(caller)
        cdr.phone_user_id = user[0] if user else None
        if user is None and (
            calls.number_e164(caller, country=profile.country) not in self.numbers[account.pk]
        ):
            return _reject(
                cdr, CdrReason.UNKNOWN_USER, f"{caller!r} is no user or number of the account."
            )
        deck = self.deck_at(profile.currency, record.started_at)
        tariff = prefix_table(deck=deck).lookup(to.digits) if deck else None
        if tariff is None:
            return _reject(
                cdr, CdrReason.NO_RATE, f"No {profile.currency} rate for {to.e164} at that time."
            )
        cdr.status, cdr.reason, cdr.message = CdrStatus.RATED, "", ""
        cdr.prefix, cdr.destination_name = tariff.prefix, tariff.destination
        cdr.per_minute, cdr.connection_fee = tariff.per_minute, tariff.connection_fee
        cdr.initial_increment = tariff.initial_increment
        cdr.subsequent_increment = tariff.subsequent_increment
        plan = self.plans[user[1]] if user is not None else None
        plan = plan if plan is not None and plan.included_minutes else None
        if plan is not None and not calls.included_applies(
            scope=plan.included_scope,
            countries=plan.included_country_set,
            home=profile.country,
            to=to.country,
        ):
            plan = None
        self.pending.append(Pending(cdr, account, tariff, deck.pk, plan))


def account_id_of(code: str) -> int | None:
    """The account a switch's accountcode names: its id, in digits."""
    text = (code or "").strip()
    if text.isdigit() and text.isascii() and len(text) <= 18:
        return int(text)
    return None


def malformed(record: CallRecord) -> str:
    """What makes a record unusable, or ""."""
    if not isinstance(record.call_id, str) or not 1 <= len(record.call_id) <= CALL_ID_LIMIT:
        return f"A call id of 1 to {CALL_ID_LIMIT} characters is required."
    for name in ("started_at", "answered_at"):
        value = getattr(record, name)
        if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
            return f"{name} needs a date and time with its time zone."
    if not isinstance(record.started_at, datetime):
        return "started_at is required."
    if not isinstance(record.billsec, int) or record.billsec < 0:
        return "billsec is a whole number of seconds, 0 or more."
    answered = record.disposition == Disposition.ANSWERED
    if record.billsec > 0 and answered and record.answered_at is None:
        return "An answered call with billed seconds needs its answer time."
    return ""


def _copy(record: CallRecord, cdr: Any) -> None:
    cdr.line = max(int(record.line or 0), 0)
    for name, limit in _LIMITS.items():
        setattr(cdr, name, (getattr(record, name) or "")[:limit])
    started = record.started_at if isinstance(record.started_at, datetime) else None
    cdr.started_at = _aware(started) or datetime(1970, 1, 1, tzinfo=UTC)
    answered = record.answered_at if isinstance(record.answered_at, datetime) else None
    cdr.answered_at = _aware(answered)
    cdr.billsec = record.billsec if isinstance(record.billsec, int) and record.billsec > 0 else 0
    cdr.disposition = str(record.disposition)[:20]
    cdr.account_id = cdr.phone_user_id = None
    cdr.destination_e164 = cdr.destination_country = cdr.currency = ""


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.utcoffset() is None:
        return value.replace(tzinfo=UTC)  # kept for the operator to see; rejected as malformed
    return value


def _reject(cdr: Any, reason: str, message: str) -> None:
    cdr.status, cdr.reason, cdr.message = CdrStatus.REJECTED, reason, message[:255]


def _not_rated(cdr: Any, reason: str, message: str) -> None:
    cdr.status, cdr.reason, cdr.message = CdrStatus.NOT_RATED, reason, message[:255]
