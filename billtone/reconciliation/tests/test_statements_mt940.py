"""MT940 on small files written here: dialects, wrappers, and malformed files."""

from datetime import date
from decimal import Decimal

import pytest

from billtone.banktransfers.references import references_find
from billtone.reconciliation.statements import (
    MT940,
    StatementFormatError,
    statement_check,
    statement_read,
)
from billtone.reconciliation.statements.mt940_details import parse_details, unwrap

GERMAN = """{1:F01TESTDEFFXXX0000000000}{2:I940TESTDEFFXXXN}{4:
:20:STARTUMS
:25:37040044/0532013000
:28C:00001/001
:60F:C250314EUR100,00
:61:2503140314CR120,00NTRFNONREF//BANKREF-1
:86:166?00SEPA-GUTSCHRIFT?109310?20EREF+E2E-77?21SVWZ+Top-up RF1853900754703
?224 thanks?30COBADEFFXXX?31DE02120300000000202051?32ACME TELECOM GMBH
:61:2503140314D15,50NDDTNONREF
:86:105?00LASTSCHRIFT?20Telco invoice 77?32TELCO SUPPLIES LTD
:62F:C250314EUR204,50
-}
"""

DUTCH = """:940:
:20:940S250314
:25:NL77INGB0574908765EUR
:28C:00012
:60F:C250313EUR1000,00
:61:2503140314C250,00NTRFEREF//00000000001005
/TRCD/00100/
:86:/EREF/E2E-1//CNTP/NL32INGB0000012345/INGBNL2A/Acme Telecom B.V.///RE
MI/STRD/ISO/RF18539007547034/
:61:2503140314C80,00NTRFEREF//00000000001006
:86:/EREF/NOTPROVIDED//CNTP/NL69ABNA0522123643/ABNANL2A/J. Janssen///R
EMI/USTD//Top-up rf18 5390 0754 7034 thanks/
:62F:C250314EUR1330,00
:86:/SUM/0/2/0,00/330,00/
"""


def write(tmp_path, text: str | bytes, name: str = "statement.sta"):
    path = tmp_path / name
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    return path


def test_german_gvc_subfields_give_payer_iban_and_purpose(tmp_path):
    result = statement_read(write(tmp_path, GERMAN))
    assert result.format == MT940
    credit, debit = result.entries
    assert (credit.amount, credit.currency, credit.is_credit) == (Decimal("120.00"), "EUR", True)
    assert (credit.value_date, credit.booking_date) == (date(2025, 3, 14), date(2025, 3, 14))
    assert credit.payer_name == "ACME TELECOM GMBH"
    assert credit.payer_iban == "DE02120300000000202051"
    assert credit.end_to_end_id == "E2E-77"
    # ?21 is a full 27 characters, so ?22 continues it without a space.
    assert credit.free_text == "Top-up RF18539007547034 thanks"
    assert references_find(credit.remittance).valid == ("RF18539007547034",)
    assert credit.bank_reference == "BANKREF-1"
    assert credit.details.startswith("166?00SEPA-GUTSCHRIFT")
    assert credit.account_id == "37040044/0532013000"
    assert credit.account_iban == ""
    assert credit.statement_id == "STARTUMS/00001/001"
    assert credit.line == 6
    assert (debit.amount, debit.is_credit, debit.counterparty_name) == (
        Decimal("15.50"),
        False,
        "TELCO SUPPLIES LTD",
    )
    assert debit.free_text == "Telco invoice 77"
    (summary,) = result.statements
    assert (summary.opening_balance, summary.closing_balance) == (Decimal(100), Decimal("204.50"))
    assert summary.balanced is True


def test_dutch_keys_give_counterparty_and_structured_reference(tmp_path):
    result = statement_read(write(tmp_path, DUTCH))
    first, second = result.entries
    assert first.payer_name == "Acme Telecom B.V."
    assert first.payer_iban == "NL32INGB0000012345"
    assert first.end_to_end_id == "E2E-1"
    assert first.structured_reference == "RF18539007547034"
    assert first.bank_reference == "00000000001005"
    assert second.end_to_end_id == ""  # NOTPROVIDED
    assert second.free_text == "Top-up rf18 5390 0754 7034 thanks"
    assert second.payer_name == "J. Janssen"
    # :25: carries the currency after the IBAN.
    assert first.account_iban == first.account_id == "NL77INGB0574908765"
    # The :86: after the closing balance is about the statement, not the last entry.
    assert "/SUM/" not in second.details
    assert result.statements[0].balanced is True


def test_unstructured_details_are_unwrapped_free_text(tmp_path):
    text = (
        ":20:0000000000\n:25:NL81ASNB9999999999\n:28C:1/1\n:60F:C200101EUR0,00\n"
        ":61:2001010101C65,00NOVBNL47INGB9999999999\nhr j jansen\n"
        f":86:NL47INGB9999999999 hr j jansen{' ' * 30}\n{' ' * 65}\n"
        f"Betaling RF18 5390 0754 7034 aan I{' ' * 31}\n"
        "CS 99999\n:62F:C200101EUR65,00\n"
    )
    (entry,) = statement_read(write(tmp_path, text)).entries
    assert entry.payer_iban == "NL47INGB9999999999"
    assert entry.payer_name == "hr j jansen"
    assert entry.free_text == (
        "NL47INGB9999999999 hr j jansen Betaling RF18 5390 0754 7034 aan I CS 99999"
    )


def test_a_full_65_column_line_continues_on_the_next():
    full = "x" * 61  # 61 characters after the 4 of ":86:"
    assert unwrap([full, "yz", "next line"], first_line_offset=4) == full + "yz next line"


def test_dutch_details_parse_without_a_statement():
    details = parse_details("/ORDP//NAME/Bedrijf B.V./REMI/NR.201303-111/11.3.2013/ISDT/2013-04-03")
    assert details.name == "Bedrijf B.V."
    assert details.free_text == "NR.201303-111/11.3.2013"


def test_reversal_marks_keep_the_money_direction(tmp_path):
    text = (
        ":20:R\n:25:DE89370400440532013000\n:28C:1\n:60F:C250314EUR100,00\n"
        ":61:250314RD5,00NTRFNONREF\n:86:return of a direct debit\n"
        ":61:250314RC7,00NTRFNONREF\n:86:credit taken back\n"
        ":62F:C250314EUR98,00\n"
    )
    back_in, taken_out = statement_read(write(tmp_path, text)).entries
    assert (back_in.is_credit, back_in.is_reversal) == (True, True)
    assert (taken_out.is_credit, taken_out.is_reversal) == (False, True)


def test_wrapped_fields_crlf_bom_and_no_final_newline(tmp_path):
    text = (
        "\ufeff:20:W\r\n:25:DE8937040044\r\n0532013000\r\n:28C:0000\r\n0\r\n"
        ":60F:C250314EUR0,00\r\n:61:250314C1,50NTRFNONREF\r\n:86:plain text\r\n"
        ":62F:C250314EUR1,50"
    )
    result = statement_read(write(tmp_path, text))
    (entry,) = result.entries
    assert entry.account_iban == "DE89370400440532013000"
    assert entry.statement_id == "W/00000"
    assert entry.free_text == "plain text"


def test_cp852_text_is_decoded(tmp_path):
    text = (
        b":20:X\n:25:DE89370400440532013000\n:28C:1\n:60F:C250314EUR0,00\n"
        b":61:250314C10,00NTRFNONREF\n:86:051?00Gutschrift?20Spende?32M\x9aLLER\n"
        b":62F:C250314EUR10,00\n"
    )
    (entry,) = statement_read(write(tmp_path, text)).entries
    assert entry.payer_name == "MÜLLER"


def test_a_statement_split_by_intermediate_balances(tmp_path):
    text = (
        ":20:S\n:25:DE89370400440532013000\n:28C:7/1\n:60F:C250314EUR0,00\n"
        ":61:250314C10,00NTRFNONREF\n:86:one\n:62M:C250314EUR10,00\n"
        ":20:S\n:25:DE89370400440532013000\n:28C:7/2\n:60M:C250314EUR10,00\n"
        ":61:250314C5,00NTRFNONREF\n:86:two\n:62F:C250314EUR15,00\n"
    )
    result = statement_read(write(tmp_path, text))
    assert [e.free_text for e in result.entries] == ["one", "two"]
    assert [e.entry_number for e in result.entries] == [1, 2]
    assert [s.statement_id for s in result.statements] == ["S/7/1", "S/7/2"]
    assert all(s.balanced for s in result.statements)


def test_text_after_the_end_of_a_message_is_not_read_into_it(tmp_path):
    text = GERMAN.replace("-}\n", "-\n42 lines exported\n")
    result = statement_read(write(tmp_path, text))
    assert result.statements[0].closing_balance == Decimal("204.50")
    assert result.statements[0].balanced is True


def test_balances_that_do_not_add_up_are_reported(tmp_path):
    text = (
        ":20:B\n:25:DE89370400440532013000\n:28C:1\n:60F:C250314EUR0,00\n"
        ":61:250314C10,00NTRFNONREF\n:86:x\n:62F:C250314EUR25,00\n"
    )
    result = statement_read(write(tmp_path, text))
    assert result.statements[0].balanced is False
    assert "off by 15.00" in result.problems[0]


# --- malformed files ---------------------------------------------------------------------


def test_a_statement_without_its_closing_balance_is_an_error(tmp_path):
    text = GERMAN.replace(":62F:C250314EUR204,50\n", "")
    with pytest.raises(StatementFormatError) as caught:
        statement_check(write(tmp_path, text, name="open.sta"))
    assert str(caught.value) == (
        "open.sta: line 2, statement at line 2: the statement has no closing balance (:62F:)."
    )


def test_a_file_ending_on_an_intermediate_balance_is_read_and_says_so(tmp_path):
    # ABN AMRO, Knab and Deutsche Bank exports end like this: the statement goes on in the
    # next file. Its entries are read; the statement carries the problem.
    text = (
        ":20:S\n:25:DE89370400440532013000\n:28C:7/1\n:60F:C250314EUR0,00\n"
        ":61:250314C10,00NTRFNONREF\n:86:one\n:62M:C250314EUR10,00\n"
    )
    result = statement_read(write(tmp_path, text))

    assert [e.free_text for e in result.entries] == ["one"]
    (problem,) = result.statements[0].problems
    assert "intermediate balance (:62M:, line 7)" in problem
    assert "the rest of this statement is in another file" in problem


# Zenith Bank (Nigeria): no transaction type code on its statement lines, ":28C: /1".
ZENITH = (
    ":20:Z\n:25:1012345678\n:28C: /1\n:60F:C201130NGN0,00\n"
    ":61:2011301130CN220000,00//19239782213\n:86:first\n"
    ":61:2011301130DN240,23//19239782214\n:86:second\n"
    ":61:2011301130DN10,00//19239782215\n:86:third\n"
    ":62F:C201130NGN219749,77\n"
)


def test_each_statement_line_is_an_entry_also_without_a_type_code(tmp_path):
    # Zenith Bank writes no transaction type: mt940 alone would file each :61: into the
    # previous entry, overwriting it.
    result = statement_read(write(tmp_path, ZENITH))

    assert [(e.amount, e.is_credit, e.free_text) for e in result.entries] == [
        (Decimal("220000.00"), True, "first"),
        (Decimal("240.23"), False, "second"),
        (Decimal("10.00"), False, "third"),
    ]
    assert [e.bank_reference for e in result.entries] == [
        "19239782213",
        "19239782214",
        "19239782215",
    ]
    assert result.statements[0].statement_id == "Z"  # ":28C: /1" has no number: left out
    assert result.statements[0].balanced is True


def test_a_space_before_the_type_code_is_read(tmp_path):
    text = (
        ":20:C\n:25:DE89370400440532013000\n:28C:1\n:60F:C250314EUR100,00\n"
        ":61:2503140314D12,35 NRTIKREF+//2016021783252833\n:86:first\n"
        ":61:2503140314D10,00 NRTIKREF+//2016021783252834\n:86:second\n"
        ":62F:C250314EUR77,65\n"
    )
    result = statement_read(write(tmp_path, text))

    assert [(e.amount, e.free_text) for e in result.entries] == [
        (Decimal("12.35"), "first"),
        (Decimal("10.00"), "second"),
    ]
    assert [e.transaction_reference for e in result.entries] == ["KREF+", "KREF+"]
    assert result.statements[0].balanced is True


def test_amounts_with_a_decimal_point_are_read_whole(tmp_path):
    # Old Rabobank exports: a point instead of SWIFT's comma, zero-padded.
    text = (
        ":940:\n:20:940A030108\n:25:1017.490.554EUR\n:28:00000/00\n"
        ":60F:C030107EUR000000020000.00\n"
        ":61:030109C000000000772.55NMSC170059286\n:86:Spaarpot kantine\n"
        ":61:030109D000000000121.10NMSCNONREF\n:86:Contante opname\n"
        ":62F:C030109EUR000000020651.45\n"
    )
    result = statement_read(write(tmp_path, text))

    assert [(e.amount, e.is_credit) for e in result.entries] == [
        (Decimal("772.55"), True),
        (Decimal("121.10"), False),
    ]
    statement = result.statements[0]
    assert (statement.opening_balance, statement.closing_balance) == (
        Decimal("20000.00"),
        Decimal("20651.45"),
    )
    assert statement.balanced is True


def test_an_mt942_interim_report_is_named_as_such(tmp_path):
    text = (
        ":20:MT942\n:25:PL25106000760000888888888888\n:28C:1/1\n:34F:PLN0,\n"
        ":13D:2003200915+0100\n:61:2003200320C100,00NTRFNONREF\n:86:x\n"
        ":90D:0PLN0,\n:90C:1PLN100,00\n"
    )
    with pytest.raises(StatementFormatError, match="MT942 interim transaction report"):
        statement_check(write(tmp_path, text))


def test_an_unreadable_field_is_named_by_its_tag(tmp_path):
    text = GERMAN.replace(":62F:C250314EUR204,50", ":65:Dnullnull7414,3\n:62F:C250314EUR204,50")
    with pytest.raises(StatementFormatError) as caught:
        statement_check(write(tmp_path, text, name="bad.sta"))
    assert ":65: 'Dnullnull7414,3' is not in its format" in str(caught.value)
    assert caught.value.line == 11


def test_a_missing_opening_balance_or_account_is_an_error(tmp_path):
    no_opening = GERMAN.replace(":60F:C250314EUR100,00\n", "")
    with pytest.raises(StatementFormatError, match=r"no opening balance \(:60F:\)"):
        statement_check(write(tmp_path, no_opening))
    no_account = GERMAN.replace(":25:37040044/0532013000\n", "")
    with pytest.raises(StatementFormatError, match=r"no account \(:25:\)"):
        statement_check(write(tmp_path, no_account))


def test_an_unreadable_statement_line_names_its_line(tmp_path):
    text = GERMAN.replace(":61:2503140314D15,50NDDTNONREF", ":61:25031X0314D15,50NDDTNONREF")
    with pytest.raises(StatementFormatError) as caught:
        statement_check(write(tmp_path, text, name="bad.sta"))
    assert caught.value.line == 9
    assert "25031X0314D15,50" in str(caught.value)


def test_a_file_without_a_statement_is_an_error(tmp_path):
    with pytest.raises(StatementFormatError, match="no MT940 statement"):
        statement_check(write(tmp_path, "{1:F01X}\n-}\n"), format=MT940)


def test_statement_lines_merged_by_the_parser_are_an_error_not_a_loss(tmp_path, monkeypatch):
    from billtone.reconciliation.statements import mt940_file

    monkeypatch.setattr(mt940_file, "NO_TYPE_CODE", "")  # mt940's own behaviour: merge
    with pytest.raises(StatementFormatError) as caught:
        statement_check(write(tmp_path, ZENITH, name="zenith.sta"))
    assert str(caught.value) == (
        "zenith.sta: line 1, statement at line 1: 3 statement lines (:61:) were read as 1 entries."
    )


def test_a_date_that_does_not_exist_names_its_line(tmp_path):
    text = GERMAN.replace(":62F:C250314EUR204,50", ":62F:C251131EUR204,50")  # 31 November
    with pytest.raises(StatementFormatError) as caught:
        statement_check(write(tmp_path, text, name="bad.sta"))
    assert caught.value.line == 11
    assert "day is out of range for month" in str(caught.value)
