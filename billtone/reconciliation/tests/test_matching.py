"""Matching decisions on their own: which reference names an account, and when to ask staff."""

from decimal import Decimal

import pytest

from billtone.banktransfers.references import reference_format, reference_from_body
from billtone.reconciliation.matching import (
    PendingRequest,
    Target,
    entry_scan,
    match_decide,
    payer_name_key,
    suggestion_find,
)
from billtone.reconciliation.models import BankEntry

Reason = BankEntry.ReviewReason
REQUEST = reference_from_body(539007547034)
PERMANENT = reference_from_body(123456789012)
TARGETS = {
    REQUEST: Target(
        REQUEST, account_id=1, currency="EUR", bank_transfer_id=7, request_currency="EUR"
    ),
    PERMANENT: Target(PERMANENT, account_id=1, currency="EUR"),
}


def decide(structured: str = "", text: str = "", currency: str = "EUR", targets=None):
    scan = entry_scan(structured_reference=structured, free_text=text)
    return match_decide(
        scan=scan, currency=currency, targets=TARGETS if targets is None else targets
    )


def broken(reference: str) -> str:
    return f"RF{(int(reference[2:4]) + 1) % 100:02d}{reference[4:]}"


@pytest.mark.parametrize(
    ("structured", "text"),
    [
        (REQUEST, ""),
        ("", f"Top-up {reference_format(REQUEST)} invoice 2025-77"),
        ("", f"ref {REQUEST.lower()} thanks"),
        ("", f"funds {REQUEST[:7]}\n{REQUEST[7:]} invoice 77"),
        ("", f"ACME-{REQUEST}/INV-77"),
        ("", f"{reference_format(REQUEST).lower()}"),
        (REQUEST, f"also here: {reference_format(REQUEST)}"),
        ("", f"{REQUEST} and my typo {broken(REQUEST)}"),
    ],
)
def test_one_known_reference_matches(structured, text):
    decision = decide(structured, text)

    assert decision.target == TARGETS[REQUEST] and decision.reason == ""
    assert decision.reference == REQUEST


@pytest.mark.parametrize(
    ("structured", "text", "reason"),
    [
        ("", "Payment invoice 2025-77", Reason.NO_REFERENCE),
        ("", f"Top-up {reference_format(broken(REQUEST))}", Reason.WRONG_CHECK_DIGITS),
        (REQUEST, PERMANENT, Reason.TWO_REFERENCES),
        (REQUEST, reference_from_body(999), Reason.TWO_REFERENCES),
        ("", f"{reference_from_body(998)} {reference_from_body(999)}", Reason.TWO_REFERENCES),
        (reference_from_body(999), "", Reason.UNKNOWN_REFERENCE),
    ],
)
def test_anything_else_needs_staff(structured, text, reason):
    decision = decide(structured, text)

    assert decision.target is None and decision.reason == reason


def test_a_known_reference_in_another_currency_needs_staff():
    assert decide(REQUEST, currency="GBP").reason == Reason.CURRENCY_DIFFERS
    moved = {REQUEST: Target(REQUEST, 1, "EUR", 7, request_currency="GBP")}
    assert decide(REQUEST, targets=moved).reason == Reason.CURRENCY_DIFFERS


def test_readings_of_one_candidate_naming_two_accounts_need_staff():
    # "RF04000000000000LY" holds its check digits, and so does its first part RF04000000000000
    short, long = reference_from_body(0), reference_from_body("000000000000LY")
    assert long.startswith(short[:4]) and long == short + "LY"
    targets = {short: Target(short, 1, "EUR"), long: Target(long, 2, "EUR")}

    assert decide("", f"paid {long}", targets=targets).reason == Reason.TWO_REFERENCES
    assert decide("", f"paid {long}", targets={short: targets[short]}).target.account_id == 1
    assert decide("", f"paid {long}", targets={long: targets[long]}).target.account_id == 2


def test_payer_names_compare_without_case_and_spacing():
    assert payer_name_key("  ACME   Telecom\nGmbH ") == payer_name_key("acme telecom gmbh")


def suggest(**overrides):
    options = {
        "payer_iban": "DE02120300000000202051",
        "payer_name": "Acme Telecom GmbH",
        "amount": Decimal("250.00"),
        "currency": "EUR",
        "accounts_by_iban": {},
        "pending_by_amount": {},
        "payer_names_by_account": {},
    }
    return suggestion_find(**(options | overrides))


def test_an_iban_seen_on_one_account_is_suggested():
    found = suggest(accounts_by_iban={"DE02120300000000202051": {4}})
    assert (found.account_id, found.bank_transfer_id) == (4, None)
    assert suggest(accounts_by_iban={"DE02120300000000202051": {4, 5}}) is None


def test_a_pending_request_of_the_amount_from_a_known_payer_is_suggested():
    pending = {
        (Decimal("250"), "EUR"): [PendingRequest(9, 4, REQUEST), PendingRequest(10, 5, PERMANENT)]
    }
    found = suggest(pending_by_amount=pending, payer_names_by_account={4: {"ACME TELECOM GMBH"}})
    assert (found.account_id, found.bank_transfer_id) == (4, 9)
    assert REQUEST in found.reason
    assert suggest(pending_by_amount=pending, payer_names_by_account={4: {"Initech"}}) is None
    both = {4: {"Acme Telecom GmbH"}, 5: {"acme telecom gmbh"}}
    assert suggest(pending_by_amount=pending, payer_names_by_account=both) is None
    assert suggest(pending_by_amount=pending, amount=Decimal("250.01")) is None
