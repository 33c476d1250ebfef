"""Which business account a bank credit belongs to: pure decisions, no database.

The importer reads the references out of an entry (`entry_scan`), looks every reading up
(bank transfers and permanent account references, `Target`), and `match_decide` says
whether the money lands, and where, or why a person must look at it. An entry is credited
only when exactly one known reference is in it and nothing else could name another
account; everything else goes to review, with a suggestion where one is likely
(`suggestion_find`), never allocated on a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from billtone.banktransfers.references import references_find
from billtone.reconciliation.models import BankEntry

Reason = BankEntry.ReviewReason


@dataclass(frozen=True, slots=True)
class Target:
    """What a known reference names: an account's business funds, through a request or not."""

    reference: str
    account_id: int
    currency: str  # the account's billing currency: its business funds are in it
    bank_transfer_id: int | None = None
    request_currency: str = ""
    request_amount: Decimal | None = None  # what the request asked for


@dataclass(slots=True)
class Candidate:
    """One place in the text that reads as a reference: its readings when its check holds."""

    reference: str  # the preferred reading (or the text, when its check digits fail)
    readings: tuple[str, ...]  # empty when the check digits fail


@dataclass(slots=True)
class Scan:
    candidates: tuple[Candidate, ...]

    @property
    def readings(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r for c in self.candidates for r in c.readings))


@dataclass(frozen=True, slots=True)
class Decision:
    target: Target | None  # set when the money lands
    reason: str  # a ReviewReason when it goes to review, else ""
    reference: str  # the reference it matched, or the first one seen


def entry_scan(*, structured_reference: str, free_text: str) -> Scan:
    """The references in an entry's structured reference and free text, each read apart
    (spaces, case and line breaks inside a reference are ignored, see references_find)."""
    candidates: list[Candidate] = []
    for text in (structured_reference, free_text):
        if not text:
            continue
        for found in references_find(text).found:
            candidates.append(Candidate(found.reference, found.readings))
    return Scan(tuple(candidates))


def match_decide(*, scan: Scan, currency: str, targets: Mapping[str, Target]) -> Decision:
    """Credit the one known reference in `scan`, or say why not.

    Two candidates that name different references (known or not), or one whose readings
    name two known references, are two different references: review. A candidate with
    wrong check digits beside a valid known reference is the payer's typo of it or noise,
    and does not stop the match.
    """
    known: dict[str, Target] = {}
    unknown: list[str] = []
    for candidate in scan.candidates:
        if not candidate.readings:
            continue
        hits = [targets[r] for r in candidate.readings if r in targets]
        if len({hit.reference for hit in hits}) > 1:
            return Decision(None, Reason.TWO_REFERENCES, candidate.reference)
        if hits:
            known[hits[0].reference] = hits[0]
        else:
            unknown.append(candidate.reference)
    unknown = [r for r in dict.fromkeys(unknown) if r not in known]
    first = scan.candidates[0].reference if scan.candidates else ""
    if len(known) + len(unknown) > 1:
        return Decision(None, Reason.TWO_REFERENCES, first)
    if known:
        (target,) = known.values()
        if currency != target.currency or (
            target.request_currency and currency != target.request_currency
        ):
            return Decision(None, Reason.CURRENCY_DIFFERS, target.reference)
        return Decision(target, "", target.reference)
    if unknown:
        return Decision(None, Reason.UNKNOWN_REFERENCE, unknown[0])
    if scan.candidates:
        return Decision(None, Reason.WRONG_CHECK_DIGITS, first)
    return Decision(None, Reason.NO_REFERENCE, "")


def payer_name_key(name: str) -> str:
    """A payer's name as compared for suggestions: case and spacing ignored."""
    return " ".join(name.casefold().split())


@dataclass(frozen=True, slots=True)
class PendingRequest:
    bank_transfer_id: int
    account_id: int
    reference: str


@dataclass(frozen=True, slots=True)
class Suggestion:
    account_id: int
    bank_transfer_id: int | None
    reason: str


def suggestion_find(
    *,
    payer_iban: str,
    payer_name: str,
    amount: Decimal,
    currency: str,
    accounts_by_iban: Mapping[str, Iterable[int]],
    pending_by_amount: Mapping[tuple[Decimal, str], Iterable[PendingRequest]],
    payer_names_by_account: Mapping[int, Iterable[str]],
) -> Suggestion | None:
    """A likely account for an entry in review, for staff to confirm; None when unsure.

    1. The payer's IBAN was seen on earlier matched credits of exactly one account.
    2. Exactly one account has a pending request of exactly this amount and has received
       money from a payer of this name before.
    """
    if payer_iban:
        accounts = set(accounts_by_iban.get(payer_iban, ()))
        if len(accounts) == 1:
            (account_id,) = accounts
            return Suggestion(
                account_id, None, f"The payer's IBAN {payer_iban} paid this account before."
            )
    key = payer_name_key(payer_name)
    if not key:
        return None
    fitting = [
        request
        for request in pending_by_amount.get((amount, currency), ())
        if key in {payer_name_key(n) for n in payer_names_by_account.get(request.account_id, ())}
    ]
    if len({request.account_id for request in fitting}) != 1:
        return None
    if len(fitting) == 1:
        (request,) = fitting
        return Suggestion(
            request.account_id,
            request.bank_transfer_id,
            f"A pending request {request.reference} of exactly {amount} {currency}; "
            f"{payer_name} paid this account before.",
        )
    return Suggestion(
        fitting[0].account_id,
        None,
        f"Pending requests of exactly {amount} {currency}; {payer_name} paid this account before.",
    )
