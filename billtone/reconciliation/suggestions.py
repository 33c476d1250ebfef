"""Suggestions for bank entries going to review: which account is likely, from the credits
matched before (stored) and those matched so far in this import (`Payers`). Staff confirm;
nothing is allocated on a suggestion. The rules are matching.suggestion_find's."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from billtone.banktransfers.models import BankTransfer
from billtone.reconciliation import matching
from billtone.reconciliation.models import BankEntry

CREDITED = (BankEntry.Status.MATCHED, BankEntry.Status.ALLOCATED)


class Payers:
    """Who paid which account in this import so far: the suggestions of a later batch
    know them before the earlier batch is committed."""

    def __init__(self) -> None:
        self.by_iban: dict[str, set[int]] = defaultdict(set)
        self.names: dict[int, set[str]] = defaultdict(set)

    def add(self, matched) -> None:
        """`matched`: the batch's (credit, target) pairs, as import_run keeps them."""
        for m in matched:
            if m.credit.payer_iban:
                self.by_iban[m.credit.payer_iban].add(m.target.account_id)
            if m.credit.payer_name:
                self.names[m.target.account_id].add(m.credit.payer_name)


def suggestions_find(*, review: list, payers: Payers) -> dict[str, matching.Suggestion]:
    """Likely accounts for the credits going to review (credits.Credit: payer, amount,
    identity), by identity; from credits stored before and those matched so far."""
    if not review:
        return {}
    by_iban: dict[str, set[int]] = defaultdict(set)
    ibans = {c.payer_iban for c in review if c.payer_iban}
    if ibans:
        for iban, account_id in (
            BankEntry.objects.filter(payer_iban__in=ibans, status__in=CREDITED)
            .values_list("payer_iban", "account_id")
            .distinct()
        ):
            by_iban[iban].add(account_id)
        for iban in ibans:
            by_iban[iban] |= payers.by_iban.get(iban, set())

    pending: dict[tuple[Decimal, str], list[matching.PendingRequest]] = defaultdict(list)
    amounts = {c.amount for c in review if c.payer_name}
    if amounts:
        for pk, account_id, reference, amount, currency in BankTransfer.objects.filter(
            status=BankTransfer.Status.AWAITING_FUNDS, amount__in=amounts
        ).values_list("pk", "account_id", "reference", "amount", "currency"):
            pending[(amount, currency)].append(matching.PendingRequest(pk, account_id, reference))
    names: dict[int, set[str]] = defaultdict(set)
    accounts = {r.account_id for requests in pending.values() for r in requests}
    if accounts:
        for account_id, name in (
            BankEntry.objects.filter(account_id__in=accounts, status__in=CREDITED)
            .exclude(payer_name="")
            .values_list("account_id", "payer_name")
            .distinct()
        ):
            names[account_id].add(name)
        for account_id in accounts:
            names[account_id] |= payers.names.get(account_id, set())

    found = {}
    for c in review:
        suggestion = matching.suggestion_find(
            payer_iban=c.payer_iban,
            payer_name=c.payer_name,
            amount=c.amount,
            currency=c.currency,
            accounts_by_iban=by_iban,
            pending_by_amount=pending,
            payer_names_by_account=names,
        )
        if suggestion is not None:
            found[c.identity] = suggestion
    return found
