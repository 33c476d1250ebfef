"""transaction_fingerprint writes the JSON of json.dumps by hand for the common types: the
digest must be exactly the one json.dumps gives, or stored keys would stop replaying."""

import hashlib
import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from billtone.core.money import Money
from billtone.ledger.models import LedgerAccount
from billtone.ledger.services import QUANTUM, Leg, transaction_fingerprint


def by_json(*, kind, memo, legs, external_reference, reverses_id) -> str:
    """The definition: the sorted content as json.dumps writes it."""
    content = {
        "kind": kind,
        "memo": memo,
        "external_reference": external_reference,
        "reverses": reverses_id,
        "postings": sorted(
            (leg.ledger_account.pk, format(leg.amount.amount.quantize(QUANTUM), "f"))
            for leg in legs
        ),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def leg(pk: int, amount: Decimal) -> Leg:
    return Leg(LedgerAccount(pk=pk, currency="EUR"), Money(amount, "EUR"))


texts = st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ['quote " and backslash \\', "line\nbreak\ttab\x00\x1f", "Grüße €", "日本", "\U0001f4b6"]
)
amounts = st.decimals(min_value=-(10**12), max_value=10**12, places=4, allow_nan=False)


@given(
    kind=texts,
    memo=texts,
    external_reference=texts,
    reverses_id=st.none() | st.integers(min_value=-(2**63), max_value=2**63),
    legs=st.lists(st.tuples(st.integers(min_value=-(2**63), max_value=2**63), amounts), max_size=5),
)
def test_the_digest_is_the_one_of_json_dumps(kind, memo, external_reference, reverses_id, legs):
    content = {
        "kind": kind,
        "memo": memo,
        "legs": [leg(pk, amount) for pk, amount in legs],
        "external_reference": external_reference,
        "reverses_id": reverses_id,
    }

    assert transaction_fingerprint(**content) == by_json(**content)


def test_other_types_are_written_by_json_dumps():
    content = {
        "kind": "top_up",
        "memo": "Top-up",
        "legs": [leg(1, Decimal("-5")), leg(2, Decimal("5"))],
        "external_reference": None,  # not a str: json.dumps writes it
        "reverses_id": None,
    }

    assert transaction_fingerprint(**content) == by_json(**content)


def test_a_bank_transfer_s_digest_is_the_one_stored_before():
    # Computed by the json.dumps code before the hand-written JSON: stored ones still match.
    assert transaction_fingerprint(
        kind="bank_transfer",
        memo="Bank transfer RF18 5390 0754 7034",
        legs=[leg(1, Decimal("-250.00")), leg(42, Decimal("250.00"))],
        external_reference="BANK-1",
        reverses_id=None,
    ) == ("218d01f6e8c4c5f3ba52018d78c90bf7688f3f684f9cea8dfc00f02cea4ded15")
