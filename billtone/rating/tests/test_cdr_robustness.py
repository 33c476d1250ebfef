"""CDR files as they arrive in practice: odd bytes, time zones, duplicates, broken lines."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from billtone.rating.cdrs import LAYOUTS, Disposition, cdr_file_read
from billtone.rating.tests.cdr_samples import BERLIN, accounted, asterisk_line, read


def test_bom_crlf_and_a_cp1252_caller_name_in_a_utf8_file():
    utf8 = asterisk_line(uniqueid="1.1").replace("Alice", "Zoë").encode()
    cp1252 = (
        asterisk_line(uniqueid="1.2", dst="0612345678")
        .replace("Alice", "Müller €")
        .encode("cp1252")
    )
    latin1_only = (
        asterisk_line(uniqueid="1.3", dst="0612345679").encode().replace(b"Alice", b"A\x81")
    )
    data = b"\xef\xbb\xbf" + b"\r\n".join([utf8, cp1252, latin1_only]) + b"\r\n"
    cdrs = read(data)
    assert [r.call_id for r in cdrs.records] == ["1.1", "1.2", "1.3"]  # the BOM is not in the id
    assert cdrs.records[0].account_code == "acme"  # nor in the first field
    assert all(r.billsec == 124 for r in cdrs.records)  # no "\r" left on the last field
    assert cdrs.rejected == []


def test_integers_quoted_or_bare_and_an_empty_answer_written_every_way():
    bare = asterisk_line(uniqueid="2.1", answer="", billsec="0", disposition="NO ANSWER")
    quoted = asterisk_line(uniqueid="2.2", answer='""', billsec='"0"', disposition="NO ANSWER")
    zero = asterisk_line(
        uniqueid="2.3", answer='"0000-00-00 00:00:00"', billsec="0", disposition="BUSY"
    )
    copied = asterisk_line(
        uniqueid="2.4", answer='"2024-03-12 09:15:02"', billsec="0", disposition="NO ANSWER"
    )
    answered = asterisk_line(uniqueid="2.5", billsec='"124"')
    cdrs = read("\n".join([bare, quoted, zero, copied, answered]).encode())
    assert [r.answered_at for r in cdrs.records[:4]] == [None] * 4
    assert cdrs.records[4].billsec == 124
    assert cdrs.records[4].answered_at == datetime(2024, 3, 12, 8, 15, 9, tzinfo=UTC)


def test_the_switch_s_time_zone_is_applied():
    line = asterisk_line().encode()
    (in_berlin,) = read(line, zone=BERLIN).records
    (in_utc,) = read(line, zone=ZoneInfo("UTC")).records  # the sample cdr.conf's usegmtime=yes
    (in_new_york,) = read(line, zone=ZoneInfo("America/New_York")).records  # EDT since 10 March
    assert in_berlin.started_at == datetime(2024, 3, 12, 8, 15, 2, tzinfo=UTC)
    assert in_utc.started_at == datetime(2024, 3, 12, 9, 15, 2, tzinfo=UTC)
    assert in_new_york.started_at == datetime(2024, 3, 12, 13, 15, 2, tzinfo=UTC)


def test_dst_days_read_deterministically():
    # Clocks go back in Berlin at 03:00 CEST on 27 October 2024: 02:00-03:00 happens twice.
    # A call starting at 02:50 (first time, CEST) answered at 02:05 (second time, CET).
    fold = asterisk_line(
        start='"2024-10-27 02:50:00"', answer='"2024-10-27 02:05:00"', billsec="600"
    )
    # Clocks go forward at 02:00 CET on 31 March 2024: 02:30 never happens on the wall.
    gap = asterisk_line(
        uniqueid="3.2", start='"2024-03-31 02:30:00"', answer='"2024-03-31 03:30:10"'
    )
    first, second = read(f"{fold}\n{gap}\n".encode()).records
    assert first.started_at.astimezone(UTC) == datetime(2024, 10, 27, 0, 50, tzinfo=UTC)
    assert first.answered_at.astimezone(UTC) == datetime(2024, 10, 27, 1, 5, tzinfo=UTC)
    assert first.billsec == 600  # as written, never from the timestamps
    # The skipped wall time is read with the offset before the change (CET, +01:00).
    assert second.started_at.astimezone(UTC) == datetime(2024, 3, 31, 1, 30, tzinfo=UTC)
    assert second.answered_at.astimezone(UTC) == datetime(2024, 3, 31, 1, 30, 10, tzinfo=UTC)


def test_exact_duplicate_lines_are_ignored_and_counted():
    one, two = asterisk_line(uniqueid="4.1"), asterisk_line(uniqueid="4.2", dst="0612345678")
    cdrs = read(f"{one}\n{two}\n{one}\r\n{one}\n".encode())
    assert [r.call_id for r in cdrs.records] == ["4.1", "4.2"]
    assert (cdrs.counts.lines, cdrs.counts.duplicates, cdrs.counts.legs_merged) == (4, 2, 0)
    assert accounted(cdrs)


def test_malformed_lines_are_rejected_with_their_numbers_and_the_rest_is_read():
    lines = [
        asterisk_line(uniqueid="5.1"),
        '"acme","201","00442071234567"',  # cut short
        asterisk_line(uniqueid="5.3", start='"2024-13-45 99:00:00"'),
        asterisk_line(uniqueid="5.4", billsec="abc"),
        asterisk_line(uniqueid="5.5", start=""),
        asterisk_line(uniqueid="5.6", billsec="-3"),
        '"acme","201","0044"broken,' + "," * 15,
        "",
        asterisk_line(uniqueid="5.9", dst="0612345678"),
    ]
    cdrs = read("\n".join(lines).encode())
    assert [r.call_id for r in cdrs.records] == ["5.1", "5.9"]
    assert [(r.line, r.reason) for r in cdrs.rejected] == [
        (2, "columns"),
        (3, "date"),
        (4, "number"),
        (5, "missing"),
        (6, "number"),
        (7, "csv"),
    ]
    assert cdrs.rejected[0].text == lines[1]
    assert "18 or 21" in cdrs.rejected[0].message
    assert "abc" in cdrs.rejected[2].message
    c = cdrs.counts
    assert c.rejected == {"columns": 1, "csv": 1, "date": 1, "missing": 1, "number": 2}
    assert (c.lines, c.records, c.answered) == (8, 2, 2)  # the blank line is not a line
    assert accounted(cdrs)


def test_an_answered_freeswitch_call_needs_an_answer_stamp_and_billsec():
    line = (
        '"Alice","1000","0612345678","default","2024-03-12 09:15:02",{answer},'
        '"2024-03-12 09:15:09","7",{billsec},"NORMAL_CLEARING","{uuid}","","acme","PCMA","PCMA"'
    )
    data = "\n".join(
        [
            line.format(answer='"2024-03-12 09:15:03"', billsec='"6"', uuid="u-1"),
            line.format(answer='""', billsec='"0"', uuid="u-2"),
            line.format(answer='"2024-03-12 09:15:09"', billsec='"0"', uuid="u-3"),
        ]
    ).encode()
    dispositions = [r.disposition for r in read(data, layout="freeswitch").records]
    assert dispositions == [Disposition.ANSWERED, Disposition.NO_ANSWER, Disposition.NO_ANSWER]


_CDR_TEXT = st.text(
    alphabet=st.sampled_from(list('",;\r\n 0123456789-:.ANSWERD/Local;@acme\x00\xe9')), max_size=300
)


@settings(max_examples=150, deadline=None)
@given(
    data=st.one_of(st.binary(max_size=400), _CDR_TEXT.map(lambda t: t.encode("utf-8"))),
    layout=st.sampled_from(LAYOUTS),
)
def test_any_bytes_never_raise_and_every_line_is_accounted_for(data, layout):
    cdrs = cdr_file_read(data, layout=layout, switch_tz=BERLIN)
    assert accounted(cdrs)
    assert len(cdrs.rejected) == sum(cdrs.counts.rejected.values())


@settings(max_examples=100, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
    zone=st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"]),
)
def test_any_wall_clock_time_reads_in_any_zone(start, zone):
    line = asterisk_line(
        start=f'"{start:%Y-%m-%d %H:%M:%S}"', answer="", billsec="0", disposition="FAILED"
    )
    (record,) = read(line.encode(), zone=ZoneInfo(zone)).records
    assert record.started_at.tzinfo is not None
