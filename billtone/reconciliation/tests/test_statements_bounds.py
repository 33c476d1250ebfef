"""Statement files bounded (issue 14): any camt.053 read in bounded memory, a statement without
entries said so, byte-order marks read, a CSV's undecodable byte on its own line."""

import codecs

import pytest

from bench.gen_camt053 import write_camt053
from bench.gen_hostile_camt053 import PLACES, write_hostile_camt053
from billtone.reconciliation.statements import (
    CAMT053,
    CSV,
    MT940,
    CsvColumnMap,
    StatementFormatError,
    camt053_feed,
    statement_detect,
    statement_read,
)
from billtone.reconciliation.tests.importing import Credit, camt053
from billtone.reconciliation.tests.test_statements_mt940 import GERMAN
from billtone.reconciliation.tests.test_statements_streaming import max_rss_kib

# --- memory ---------------------------------------------------------------------------------

HOSTILE_ELEMENTS = 300_000  # 6-9 MB of XML; kept whole, ~70 MB of libxml2 tree


@pytest.fixture(scope="module")
def baseline_kib(tmp_path_factory):
    """The peak memory of a fresh interpreter reading a statement of three entries."""
    path = tmp_path_factory.mktemp("hostile") / "plain.xml"
    return max_rss_kib(write_hostile_camt053(path, elements=0, entries=3))


@pytest.mark.parametrize("where", PLACES)
def test_small_elements_by_the_hundred_thousand_outside_entries_are_not_kept(
    tmp_path, baseline_kib, where
):
    path = write_hostile_camt053(
        tmp_path / f"{where}.xml", elements=HOSTILE_ELEMENTS, where=where, entries=3
    )
    growth_mib = (max_rss_kib(path) - baseline_kib) / 1024
    assert growth_mib < 20, f"{where}: {growth_mib:.0f} MiB more than a 3-entry statement"


def test_what_is_kept_is_read_as_before_when_pruning_runs_all_the_time(tmp_path, monkeypatch):
    """The pruning between entries keeps each statement's header and every entry whole."""
    path = write_camt053(tmp_path / "s.xml", entries=300, seed=3).path
    expected = statement_read(path)
    monkeypatch.setattr(camt053_feed, "CHUNK_BYTES", 97)
    monkeypatch.setattr(camt053_feed, "PRUNE_AFTER_BYTES", 0)

    pruned = statement_read(path)

    assert pruned.entries == expected.entries
    assert pruned.statements == expected.statements
    assert pruned.statements[0].balanced is True


def test_the_hostile_file_reads_its_entries_and_no_padding(tmp_path, monkeypatch):
    monkeypatch.setattr(camt053_feed, "PRUNE_AFTER_BYTES", 1000)
    for where in PLACES:
        path = write_hostile_camt053(tmp_path / "h.xml", elements=20_000, where=where, entries=3)
        result = statement_read(path)
        assert [e.amount for e in result.entries] == [1, 2, 3], where
        assert result.statements[0].balanced is True, where


def test_an_entry_too_large_to_keep_is_refused_naming_its_line(tmp_path, monkeypatch):
    monkeypatch.setattr(camt053_feed, "MAX_KEPT_ELEMENTS", 5_000)
    monkeypatch.setattr(camt053_feed, "PRUNE_AFTER_BYTES", 10_000)
    path = camt053(tmp_path, Credit("1.00"), Credit("2.00"))
    text = path.read_text()
    padding = "<AddtlNtryInf>x</AddtlNtryInf>" * 20_000
    path.write_text(text.replace("<NtryDtls>", padding + "<NtryDtls>", 1))

    with pytest.raises(StatementFormatError, match=r"line 4: more than 5,000 XML elements"):
        statement_read(path)


# --- statements with nothing in them --------------------------------------------------------


def test_a_statement_without_entries_says_so(tmp_path):
    result = statement_read(camt053(tmp_path))

    assert result.entries == ()
    assert result.problems == (
        "STMT-1: The statement holds no entries: nothing in it is imported.",
    )


def test_the_issue_14_file_says_it_holds_no_entries(tmp_path):
    path = write_hostile_camt053(tmp_path / "h.xml", elements=10_000)

    assert statement_read(path).problems == (
        "HOSTILE-1: The statement holds no entries: nothing in it is imported.",
    )


def test_an_mt940_statement_without_lines_says_so(tmp_path):
    path = tmp_path / "empty.sta"
    path.write_text(
        ":20:EMPTY\n:25:NL77INGB0574908765\n:28C:1\n:60F:C250314EUR1,00\n:62F:C250314EUR1,00\n-\n"
    )

    assert "holds no entries" in statement_read(path).problems[0]


def test_a_document_without_a_statement_is_refused(tmp_path):
    path = camt053(tmp_path)
    path.write_text(path.read_text().split("<Stmt>")[0] + "</BkToCstmrStmt></Document>")

    with pytest.raises(StatementFormatError, match=r"holds no statement \(Stmt\)"):
        statement_read(path)


# --- byte-order marks -----------------------------------------------------------------------


def _recoded(path, codec: str, bom: bytes = b""):
    text = path.read_text(encoding="utf-8").replace('encoding="UTF-8"', f'encoding="{codec}"')
    path.write_bytes(bom + text.encode(codec))
    return path


@pytest.mark.parametrize(
    ("codec", "bom"),
    [
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-32-le", codecs.BOM_UTF32_LE),
        ("utf-32-be", codecs.BOM_UTF32_BE),
        ("utf-16-le", b""),  # libxml2 tells UTF-16 by its first "<"
        ("utf-8", codecs.BOM_UTF8),
    ],
)
def test_camt053_in_utf16_or_utf32_is_read(tmp_path, codec, bom):
    path = _recoded(camt053(tmp_path, Credit("12.50", payer="Müller Søn")), codec, bom)

    result = statement_read(path)

    assert result.format == CAMT053
    assert [(e.amount, e.counterparty_name) for e in result.entries] == [(12.5, "Müller Søn")]


@pytest.mark.parametrize("bom", [codecs.BOM_UTF16_LE + b"<\x00", codecs.BOM_UTF32_BE + b"\0\0\0<"])
def test_a_byte_order_mark_before_xml_is_camt053(bom):
    assert statement_detect(bom) == CAMT053


@pytest.mark.parametrize("codec", ["utf-16", "utf-32", "utf-8-sig"])
def test_mt940_with_a_byte_order_mark_is_read(tmp_path, codec):
    path = tmp_path / "statement.sta"
    path.write_bytes(GERMAN.replace("ACME TELECOM GMBH", "MÜLLER GMBH").encode(codec))

    result = statement_read(path)

    assert result.format == MT940
    assert [e.counterparty_name for e in result.entries] == ["MÜLLER GMBH", "TELCO SUPPLIES LTD"]
    assert result.entries[1].line == 9


CSV_TEXT = "Date,Amount,Name\n2025-03-14,250.00,Müller\n2025-03-15,-3.00,Bank\n"
CSV_MAP = CsvColumnMap(
    booking_date="Date", amount="Amount", payer_name="Name", default_currency="EUR"
)


@pytest.mark.parametrize(
    ("codec", "map_encoding"),
    [("utf-16", "utf-8-sig"), ("utf-32", "utf-8-sig"), ("utf-8-sig", "latin-1")],
)
def test_csv_with_a_byte_order_mark_is_read_in_the_encoding_it_names(tmp_path, codec, map_encoding):
    path = tmp_path / "export.csv"
    path.write_bytes(CSV_TEXT.encode(codec))
    columns = CsvColumnMap(**{**CSV_MAP.__dict__, "encoding": map_encoding})

    result = statement_read(path, format=CSV, csv_columns=columns)

    assert [(e.counterparty_name, e.line) for e in result.entries] == [("Müller", 2), ("Bank", 3)]


# --- a CSV's real line ----------------------------------------------------------------------


@pytest.mark.parametrize("good_rows", [0, 3, 2_000])  # 2,000 rows: past the first read chunk
def test_a_csv_byte_that_is_not_in_its_encoding_is_reported_on_its_own_line(tmp_path, good_rows):
    rows = "".join(f"2025-03-14,{n}.00,Payer {n}\n" for n in range(good_rows))
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        (CSV_TEXT.splitlines(keepends=True)[0] + rows).encode()
        + "2025-03-16,7.00,Gebühr\n".encode("latin-1")
    )

    with pytest.raises(StatementFormatError) as caught:
        statement_read(path, format=CSV, csv_columns=CSV_MAP)

    assert caught.value.line == good_rows + 2
    assert caught.value.reason == "the text is not utf-8-sig."
