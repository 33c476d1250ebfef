from decimal import Decimal

import segno

from billtone.banktransfers.selectors import (
    BankDetails,
    epc_qr_code,
    epc_qr_data_uri,
    reference_display,
)
from billtone.core.money import Money

SEPA_BANK = BankDetails(
    account_holder="Billtone Telecom B.V.",
    iban="NL91ABNA0417164300",
    iban_display="NL91 ABNA 0417 1643 00",
    bic="ABNANL2A",
    bank_name="ABN AMRO Bank N.V.",
    bank_address="",
)
REFERENCE = "RF18539007547034"


def epc_payload(*lines: str) -> bytes:
    return "\n".join(lines).encode("iso-8859-1")


def test_the_epc_qr_code_carries_bic_name_iban_amount_and_reference():
    qr = epc_qr_code(bank=SEPA_BANK, amount=Money(Decimal("250.50"), "EUR"), reference=REFERENCE)

    # EPC069-12 version 002: service tag, version, charset 2 (ISO 8859-1), SEPA credit
    # transfer, BIC, name, IBAN, amount, purpose (none), structured reference.
    expected = segno.make_qr(
        epc_payload(
            "BCD",
            "002",
            "2",
            "SCT",
            "ABNANL2A",
            "Billtone Telecom B.V.",
            "NL91ABNA0417164300",
            "EUR250.5",
            "",
            REFERENCE,
        ),  # fmt: skip
        error="m",
        boost_error=False,
    )
    assert qr.error == "M" and qr.version <= 13
    assert qr.matrix == expected.matrix


def test_a_long_account_holder_is_cut_to_the_70_characters_epc_allows():
    bank = BankDetails(**{**SEPA_BANK.__dict__, "account_holder": "A" * 90})
    qr = epc_qr_code(bank=bank, amount=Money(Decimal("10"), "EUR"), reference=REFERENCE)
    expected = segno.make_qr(
        epc_payload(
            "BCD",
            "002",
            "2",
            "SCT",
            "ABNANL2A",
            "A" * 70,
            "NL91ABNA0417164300",
            "EUR10",
            "",
            REFERENCE,
        ),  # fmt: skip
        error="m",
        boost_error=False,
    )
    assert qr.matrix == expected.matrix


def test_no_epc_qr_code_outside_eur_or_outside_sepa():
    gbp = Money(Decimal("10"), "GBP")
    assert epc_qr_code(bank=SEPA_BANK, amount=gbp, reference=REFERENCE) is None
    non_sepa_bank = BankDetails(**{**SEPA_BANK.__dict__, "iban": "BR1800360305000010009795493C1"})
    eur = Money(Decimal("10"), "EUR")
    assert epc_qr_code(bank=non_sepa_bank, amount=eur, reference=REFERENCE) is None
    assert epc_qr_data_uri(bank=non_sepa_bank, amount=eur, reference=REFERENCE) is None


def test_the_qr_code_is_an_svg_data_uri():
    uri = epc_qr_data_uri(bank=SEPA_BANK, amount=Money(Decimal("10"), "EUR"), reference=REFERENCE)
    assert uri.startswith("data:image/svg+xml")


def test_references_are_shown_in_groups_of_four():
    assert reference_display(REFERENCE) == "RF18 5390 0754 7034"
    assert reference_display("RF471234567") == "RF47 1234 567"
