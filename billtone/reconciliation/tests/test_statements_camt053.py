"""camt.053 on small files written here, one per schema version, and malformed ones."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from billtone.reconciliation.statements import (
    CAMT053,
    StatementFormatError,
    statement_check,
    statement_parse,
    statement_read,
)

VERSIONS = ["02", "03", "04", "05", "06", "07", "08"]
ACCOUNT = "DE89370400440532013000"


def party(version: str, role: str, name: str, iban: str) -> str:
    """001.08 wraps the party in Pty; earlier versions do not."""
    inner = f"<Nm>{name}</Nm>"
    wrapped = f"<Pty>{inner}</Pty>" if version >= "08" else inner
    return f"<{role}>{wrapped}</{role}><{role}Acct><Id><IBAN>{iban}</IBAN></Id></{role}Acct>"


def tx(
    version: str,
    *,
    amount: str | None = None,
    name: str = "Acme Telecom GmbH",
    iban: str = "DE02120300000000202051",
    ustrd: tuple[str, ...] = (),
    ref: str = "",
    tx_ref: str = "",
    end_to_end: str = "NOTPROVIDED",
    role: str = "Dbtr",
    addtl: str = "",
) -> str:
    refs = f"<Refs><EndToEndId>{end_to_end}</EndToEndId>"
    refs += f"<AcctSvcrRef>{tx_ref}</AcctSvcrRef>" if tx_ref else ""
    refs += "</Refs>"
    if amount is None:
        amt = ""
    elif version >= "04":  # TxDtls/Amt exists from 001.03/04 on; 001.02 has AmtDtls only
        amt = f'<Amt Ccy="EUR">{amount}</Amt>'
    else:
        amt = f'<AmtDtls><TxAmt><Amt Ccy="EUR">{amount}</Amt></TxAmt></AmtDtls>'
    strd = (
        "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
        f"<Ref>{ref}</Ref></CdtrRefInf></Strd>"
        if ref
        else ""
    )
    rmt = "".join(f"<Ustrd>{u}</Ustrd>" for u in ustrd) + strd
    return (
        f"<TxDtls>{refs}{amt}<RltdPties>{party(version, role, name, iban)}</RltdPties>"
        f"{f'<RmtInf>{rmt}</RmtInf>' if rmt else ''}"
        f"{f'<AddtlTxInf>{addtl}</AddtlTxInf>' if addtl else ''}</TxDtls>"
    )


def ntry(
    version: str,
    amount: str,
    *,
    direction: str = "CRDT",
    txs: tuple[str, ...] = (),
    booked: str = "<Dt>2025-03-14</Dt>",
    valued: str = "<Dt>2025-03-15</Dt>",
    acct_ref: str = "",
    ntry_ref: str = "",
    reversal: bool = False,
    info: str = "",
    currency: str = "EUR",
) -> str:
    status = "<Sts><Cd>BOOK</Cd></Sts>" if version >= "08" else "<Sts>BOOK</Sts>"
    return (
        "<Ntry>"
        f"{f'<NtryRef>{ntry_ref}</NtryRef>' if ntry_ref else ''}"
        f'<Amt Ccy="{currency}">{amount}</Amt><CdtDbtInd>{direction}</CdtDbtInd>'
        f"{'<RvslInd>true</RvslInd>' if reversal else ''}{status}"
        f"<BookgDt>{booked}</BookgDt><ValDt>{valued}</ValDt>"
        f"{f'<AcctSvcrRef>{acct_ref}</AcctSvcrRef>' if acct_ref else ''}"
        "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly>"
        "</Domn></BkTxCd>"
        f"{'<NtryDtls>' + ''.join(txs) + '</NtryDtls>' if txs else ''}"
        f"{f'<AddtlNtryInf>{info}</AddtlNtryInf>' if info else ''}"
        "</Ntry>"
    )


def balance(code: str, amount: str, direction: str = "CRDT") -> str:
    return (
        f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{amount}</Amt>'
        f"<CdtDbtInd>{direction}</CdtDbtInd><Dt><Dt>2025-03-14</Dt></Dt></Bal>"
    )


def document(
    version: str,
    *entries: str,
    opening: str = "",
    closing: str = "",
    summary: str = "",
    statement_id: str = "STMT-1",
    namespace: str | None = None,
) -> str:
    ns = namespace or f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}"
    balances = (balance("OPBD", opening) if opening else "") + (
        balance("CLBD", closing) if closing else ""
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ns}"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>M1</MsgId><CreDtTm>2025-03-15T06:00:00</CreDtTm></GrpHdr>\n"
        f"<Stmt><Id>{statement_id}</Id><CreDtTm>2025-03-15T06:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{ACCOUNT}</IBAN></Id><Ccy>EUR</Ccy></Acct>{balances}{summary}\n"
        + "\n".join(entries)
        + "\n</Stmt></BkToCstmrStmt></Document>\n"
    )


def write(tmp_path, text: str, name: str = "statement.xml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("version", VERSIONS)
def test_every_version_yields_its_credits_and_debits(tmp_path, version):
    path = write(
        tmp_path,
        document(
            version,
            ntry(
                version,
                "120.00",
                acct_ref="BANK-1",
                txs=(tx(version, amount="120.00", ustrd=("Top-up RF18 5390 0754 7034",)),),
            ),
            ntry(
                version,
                "15.50",
                direction="DBIT",
                acct_ref="BANK-2",
                txs=(tx(version, role="Cdtr", name="Telco Supplies Ltd", ustrd=("Inv 77",)),),
            ),
            opening="100.00",
            closing="204.50",
        ),
    )
    result = statement_read(path)
    assert result.format == CAMT053
    credit, debit = result.entries
    assert (credit.amount, credit.currency, credit.is_credit) == (Decimal("120.00"), "EUR", True)
    assert credit.booking_date == date(2025, 3, 14)
    assert credit.value_date == date(2025, 3, 15)
    assert credit.payer_name == "Acme Telecom GmbH"
    assert credit.payer_iban == "DE02120300000000202051"
    assert credit.free_text == "Top-up RF18 5390 0754 7034"
    assert credit.bank_reference == "BANK-1"
    assert credit.account_iban == ACCOUNT
    assert credit.statement_id == "STMT-1"
    assert credit.line == 4
    assert (debit.amount, debit.is_credit) == (Decimal("15.50"), False)
    assert debit.counterparty_name == "Telco Supplies Ltd"
    assert debit.payer_name == ""  # a debit has no payer: we paid
    (summary,) = result.statements
    assert (summary.credit_entries, summary.credit_sum) == (1, Decimal("120.00"))
    assert (summary.debit_entries, summary.debit_sum) == (1, Decimal("15.50"))
    assert summary.balanced is True
    assert result.problems == ()


@pytest.mark.parametrize("version", VERSIONS)
def test_structured_creditor_reference_is_kept_apart_from_free_text(tmp_path, version):
    path = write(
        tmp_path,
        document(
            version,
            ntry(
                version,
                "50",
                txs=(tx(version, ref="RF18539007547034", ustrd=("thanks", "second line")),),
            ),
        ),
    )
    (entry,) = statement_read(path).entries
    assert entry.structured_reference == "RF18539007547034"
    assert entry.free_text == "thanks\nsecond line"
    assert entry.amount == Decimal("50")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_batch_yields_one_entry_per_transaction_with_its_own_amount(tmp_path, version):
    batch = ntry(
        version,
        "300.00",
        acct_ref="BATCH-9",
        info="COLLECTIVE CREDIT 2 TRANSACTIONS",
        txs=(
            tx(version, amount="100.00", name="A GmbH", ref="RF18539007547034", tx_ref="T1"),
            tx(version, amount="200.00", name="B Ltd", ustrd=("no reference",), tx_ref="T2"),
        ),
    )
    result = statement_read(write(tmp_path, document(version, batch)))
    first, second = result.entries
    assert [e.amount for e in result.entries] == [Decimal("100.00"), Decimal("200.00")]
    assert [e.transaction_index for e in result.entries] == [0, 1]
    assert first.entry_number == second.entry_number == 1
    assert (first.payer_name, first.structured_reference) == ("A GmbH", "RF18539007547034")
    assert (second.payer_name, second.free_text) == ("B Ltd", "no reference")
    assert (first.transaction_reference, second.transaction_reference) == ("T1", "T2")
    # The batch's own text is about the batch: it is not given to a payment as its text.
    assert first.free_text == ""
    assert "COLLECTIVE CREDIT" in first.details
    (summary,) = result.statements
    assert (summary.credit_entries, summary.credit_transactions) == (1, 2)
    assert summary.credit_sum == Decimal("300.00")


def test_a_batch_whose_amounts_do_not_add_up_is_kept_whole(tmp_path):
    batch = ntry(
        "04",
        "300.00",
        txs=(
            tx("04", amount="100.00", ref="RF18539007547034"),
            tx("04", amount="150.00", ustrd=("other",)),
        ),
    )
    result = statement_read(write(tmp_path, document("04", batch)))
    (entry,) = result.entries
    assert entry.amount == Decimal("300.00")
    assert entry.structured_reference == "RF18539007547034"
    assert entry.free_text == "other"
    assert "do not add up" in result.problems[0]


def test_a_batch_without_amounts_is_kept_whole(tmp_path):
    batch = ntry("02", "75.00", txs=(tx("02", name="Same"), tx("02", name="Same")))
    (entry,) = statement_read(write(tmp_path, document("02", batch))).entries
    assert entry.amount == Decimal("75.00")
    assert entry.counterparty_name == "Same"


def test_without_transaction_details_the_entry_text_is_the_free_text(tmp_path):
    path = write(tmp_path, document("02", ntry("02", "9.99", info="Interest Q1 RF18539007547034")))
    (entry,) = statement_read(path).entries
    assert entry.free_text == "Interest Q1 RF18539007547034"
    assert entry.counterparty_name == ""


def test_additional_transaction_info_is_the_fallback_text(tmp_path):
    path = write(
        tmp_path,
        document("02", ntry("02", "9.99", info="entry text", txs=(tx("02", addtl="tx text"),))),
    )
    (entry,) = statement_read(path).entries
    assert entry.free_text == "tx text"
    assert entry.details == "tx text\nentry text"


def test_dates_with_a_time_and_zone_keep_their_own_date(tmp_path):
    path = write(
        tmp_path,
        document(
            "05",
            ntry(
                "05",
                "1",
                booked="<DtTm>2025-03-14T23:30:00+01:00</DtTm>",
                valued="<Dt>2025-03-15+01:00</Dt>",
            ),
        ),
    )
    (entry,) = statement_read(path).entries
    assert (entry.booking_date, entry.value_date) == (date(2025, 3, 14), date(2025, 3, 15))


def test_amounts_with_no_or_three_decimals(tmp_path):
    path = write(
        tmp_path,
        document("04", ntry("04", "120", currency="EUR"), ntry("04", "1.234", currency="KWD")),
    )
    first, second = statement_read(path).entries
    assert (first.amount, second.amount, second.currency) == (Decimal(120), Decimal("1.234"), "KWD")


def test_a_reversal_keeps_its_direction_and_is_marked(tmp_path):
    path = write(tmp_path, document("02", ntry("02", "40.00", direction="DBIT", reversal=True)))
    (entry,) = statement_read(path).entries
    assert entry.is_credit is False
    assert entry.is_reversal is True


def test_entry_reference_falls_back_to_ntryref(tmp_path):
    path = write(tmp_path, document("02", ntry("02", "1", ntry_ref="20250314-001")))
    (entry,) = statement_read(path).entries
    assert entry.bank_reference == "20250314-001"


def test_balances_that_do_not_add_up_are_reported(tmp_path):
    path = write(tmp_path, document("02", ntry("02", "10.00"), opening="5.00", closing="20.00"))
    result = statement_read(path)
    assert result.statements[0].balanced is False
    assert "off by 5.00" in result.problems[0]


def test_control_sums_that_disagree_are_reported(tmp_path):
    summary = (
        "<TxsSummry><TtlCdtNtries><NbOfNtries>2</NbOfNtries><Sum>30.00</Sum></TtlCdtNtries>"
        "<TtlDbtNtries><NbOfNtries>0</NbOfNtries><Sum>0</Sum></TtlDbtNtries></TxsSummry>"
    )
    path = write(tmp_path, document("08", ntry("08", "10.00"), summary=summary))
    problems = statement_read(path).problems
    assert any("gives 2 credit entries; it holds 1" in p for p in problems)
    assert any("summing 30.00; they sum 10.00" in p for p in problems)


def test_indentation_and_blank_text_change_nothing_read(tmp_path):
    """The parser drops blank text between elements (remove_blank_text): an entry reads
    the same pretty-printed or not, blank leaves and blank text before a child included."""
    entry = ntry(
        "08",
        "12.00",
        acct_ref="B-1",
        info=" info ",
        txs=(
            tx(
                "08",
                amount="12.00",
                ustrd=(" pay RF18 5390 0754 7034 ", "  ", "\n"),
                ref="RF18539007547034",
                addtl=" more ",
            ),
        ),
    ).replace("<Sts>", "<Sts>\n  ")
    compact = write(tmp_path, document("08", entry), name="compact.xml")
    root = etree.fromstring(compact.read_bytes())
    etree.indent(root, space="    ")
    pretty = tmp_path / "pretty.xml"
    pretty.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))

    def read(path):
        return [replace(e, line=None, position="") for e in statement_read(path).entries]

    assert read(pretty) == read(compact)
    assert read(compact)[0].free_text == "pay RF18 5390 0754 7034"


def test_several_statements_each_get_a_summary(tmp_path):
    one = document("02", ntry("02", "1"), statement_id="A")
    two = document("02", ntry("02", "2"), statement_id="B")
    body = one.split("<Stmt>", 1)[1].rsplit("</Stmt>", 1)[0]
    combined = two.replace("<Stmt>", f"<Stmt>{body}</Stmt>\n<Stmt>", 1)
    result = statement_read(write(tmp_path, combined))
    assert [s.statement_id for s in result.statements] == ["A", "B"]
    assert [e.statement_id for e in result.entries] == ["A", "B"]
    assert [e.entry_number for e in result.entries] == [1, 2]


# --- malformed files ---------------------------------------------------------------------


def test_truncated_xml_names_the_file_and_line(tmp_path):
    text = document("08", *[ntry("08", f"{i}.00") for i in range(1, 6)])
    path = write(tmp_path, text[: len(text) * 2 // 3], name="cut.xml")
    with pytest.raises(StatementFormatError) as caught:
        statement_check(path)
    assert caught.value.file == "cut.xml"
    assert caught.value.line and caught.value.line > 1
    assert "truncated" in str(caught.value) and str(caught.value).startswith("cut.xml: line ")


def test_a_truncated_file_yields_entries_before_it_fails(tmp_path):
    """Why a caller validates first: the stream has yielded entries when the error comes."""
    text = document("08", *[ntry("08", f"{i}.00") for i in range(1, 6)])
    path = write(tmp_path, text[: len(text) * 2 // 3])
    seen = []
    with pytest.raises(StatementFormatError):
        for entry in statement_parse(path):
            seen.append(entry)
    assert seen


@pytest.mark.parametrize(
    "namespace",
    [
        "urn:iso:std:iso:20022:tech:xsd:camt.052.001.02",
        "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03",
        "http://example.com/not-iso",
    ],
)
def test_a_wrong_namespace_is_not_a_camt053(tmp_path, namespace):
    path = write(tmp_path, document("02", ntry("02", "1"), namespace=namespace))
    with pytest.raises(StatementFormatError) as caught:
        statement_check(path)
    assert "not a camt.053 statement" in str(caught.value)
    assert namespace in str(caught.value)


@pytest.mark.parametrize(
    "text", ["<?xml version='1.0'?><Invoice><Ntry/></Invoice>", "<Invoice><Line/></Invoice>"]
)
def test_another_root_element_is_not_a_camt053(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(StatementFormatError, match="root element is Invoice"):
        statement_check(path)


def test_a_document_without_statements_is_an_error(tmp_path):
    ns = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
    path = write(tmp_path, f'<Document xmlns="{ns}"><BkToCstmrStmt/></Document>')
    with pytest.raises(StatementFormatError, match="no statement"):
        statement_check(path)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (ntry("02", "12,50"), "the amount '12,50' is not a number"),
        (ntry("02", "-5.00"), "is not a number"),
        (ntry("02", "5.00", currency="euro"), "no valid currency"),
        (ntry("02", "5.00", direction="CREDIT"), "CdtDbtInd is 'CREDIT'"),
        (ntry("02", "5.00", booked="<Dt>2025-13-45</Dt>"), "is not a date"),
    ],
)
def test_a_bad_entry_names_the_entry_and_its_line(tmp_path, entry, message):
    path = write(tmp_path, document("02", ntry("02", "1.00"), entry), name="bad.xml")
    with pytest.raises(StatementFormatError) as caught:
        statement_check(path)
    assert message in str(caught.value)
    assert caught.value.where == "entry 2"
    assert caught.value.line == 5


def test_entities_are_not_expanded(tmp_path):
    ns = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
    text = document("02", ntry("02", "1", info="&secret;")).replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0"?><!DOCTYPE Document [<!ENTITY secret SYSTEM "file:///etc/passwd">]>',
    )
    assert ns in text
    (entry,) = statement_read(write(tmp_path, text)).entries
    assert "root:" not in entry.free_text


# --- variants seen in real files ----------------------------------------------------------


def test_the_austrian_stuzza_namespace_is_a_camt053(tmp_path):
    namespace = "ISO:camt.053.001.02:APC:STUZZA:payments:003"
    path = write(
        tmp_path,
        document("02", ntry("02", "250.00"), opening="0", closing="250.00", namespace=namespace),
    )

    result = statement_read(path)

    assert [e.amount for e in result.entries] == [Decimal("250.00")]
    assert result.statements[0].balanced is True


def test_a_document_inside_a_swift_envelope_is_read(tmp_path):
    # SWIFT's CBPR+: an <Envelope> holding the business application header and the Document
    inner = document("08", ntry("08", "75.10"), opening="0", closing="75.10")
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Envelope xmlns="urn:swift:xsd:envelope">\n'
        '<AppHdr xmlns="urn:iso:std:iso:20022:tech:xsd:head.001.001.02">'
        "<MsgDefIdr>camt.053.001.08</MsgDefIdr></AppHdr>\n"
        + inner.split("?>\n", 1)[1]
        + "</Envelope>\n"
    )

    result = statement_read(write(tmp_path, text))

    assert [e.amount for e in result.entries] == [Decimal("75.10")]
    assert result.statements[0].balanced is True


def test_entries_without_any_date_take_the_statement_s_and_say_so(tmp_path):
    undated = ntry("08", "10.00").replace(
        "<BookgDt><Dt>2025-03-14</Dt></BookgDt><ValDt><Dt>2025-03-15</Dt></ValDt>", ""
    )
    path = write(
        tmp_path,
        document("08", undated, undated, opening="0", closing="20.00", statement_id="S-1"),
    )

    result = statement_read(path)

    assert [e.booking_date for e in result.entries] == [date(2025, 3, 14)] * 2  # CLBD's date
    assert [e.value_date for e in result.entries] == [None, None]
    assert result.statements[0].problems == (
        "2 entries carry no booking or value date: the statement's date 2025-03-14 is used "
        "for them.",
    )


def test_two_xml_documents_in_one_file_are_named_as_such(tmp_path):
    one = document("02", ntry("02", "1.00"))
    path = write(tmp_path, one + one)
    with pytest.raises(StatementFormatError) as caught:
        statement_check(path)
    assert "more than one XML document" in str(caught.value)
    assert caught.value.line == one.count("\n") + 1


def test_an_entry_without_a_date_in_a_statement_without_one_is_an_error(tmp_path):
    undated = ntry("02", "5.00", booked="", valued="")
    text = document("02", ntry("02", "1.00"), undated).replace(
        "<CreDtTm>2025-03-15T06:00:00</CreDtTm><Acct>", "<Acct>"
    )
    with pytest.raises(StatementFormatError) as caught:
        statement_check(write(tmp_path, text, name="bad.xml"))
    assert "entry 2: the entry has no booking date." in str(caught.value)
