"""CDR files read as switches write them (pure: no database).

The fixtures in data/ are shaped on the writers' sources; data/README.md names each.
"""

import pytest

from billtone.rating.cdrs import LAYOUTS, Disposition
from billtone.rating.tests.cdr_samples import accounted, asterisk_line, read, utc


def test_the_layouts_offered():
    assert LAYOUTS == ("asterisk", "asterisk-custom", "csv", "freeswitch")


def test_asterisk_master_csv_with_18_columns():
    cdrs = read("asterisk_master_18.csv")
    first = cdrs.records[0]
    assert first.call_id == "1710234902.18"
    assert (first.account_code, first.source, first.destination) == (
        "acme",
        "201",
        "00442071234567",
    )
    assert first.started_at == utc(2024, 3, 12, 8, 15, 2)  # Berlin is UTC+1 in March
    assert first.answered_at == utc(2024, 3, 12, 8, 15, 9)
    assert (first.billsec, first.disposition, first.line) == (124, Disposition.ANSWERED, 1)
    assert [r.disposition for r in cdrs.records[1:4]] == [
        Disposition.NO_ANSWER,
        Disposition.BUSY,
        Disposition.FAILED,
    ]
    assert all(r.answered_at is None and r.billsec == 0 for r in cdrs.records[1:4])
    assert cdrs.records[-1].destination == "*97"  # kept as dialled: the ingestion classifies
    assert cdrs.rejected == []
    c = cdrs.counts
    assert (c.lines, c.records, c.answered, c.legs_merged, c.duplicates) == (7, 6, 3, 1, 0)
    assert c.not_answered == {"busy": 1, "failed": 1, "no_answer": 1}
    assert accounted(cdrs)


def test_local_channel_halves_are_one_call_billed_once_as_the_caller_s():
    cdrs = read("asterisk_master_18.csv")
    local = [r for r in cdrs.records if r.destination == "00441632960123"]
    assert len(local) == 1
    (call,) = local
    # The ;2 half is written first (line 5); the call is the caller's row's uniqueid.
    assert (call.call_id, call.line, call.billsec) == ("1710237600.32", 5, 120)


def test_asterisk_master_csv_with_newcdrcolumns_merges_failover_and_b_leg_by_linkedid():
    cdrs = read("asterisk_master_21.csv")
    call, other = cdrs.records
    assert call.call_id == "1710244800.50"
    assert (call.disposition, call.billsec, call.account_code) == (
        Disposition.ANSWERED,
        300,
        "acme",
    )
    assert call.started_at == utc(2024, 3, 12, 11, 0, 0)  # the first attempt's start
    assert call.answered_at == utc(2024, 3, 12, 11, 0, 10)
    assert (other.call_id, other.account_code, other.billsec) == ("1710245400.52", "beta", 60)
    c = cdrs.counts
    assert (c.lines, c.records, c.answered, c.legs_merged) == (4, 2, 2, 2)
    assert accounted(cdrs)


def test_failover_with_18_columns_merges_by_uniqueid_and_the_answered_attempt_wins():
    failed = asterisk_line(answer="", billsec="0", disposition="CONGESTION")
    answered = asterisk_line(start='"2024-03-12 09:15:05"', billsec="61")
    cdrs = read(f"{failed}\n{answered}\n".encode())
    (call,) = cdrs.records
    assert (call.disposition, call.billsec, call.line) == (Disposition.ANSWERED, 61, 1)
    assert call.started_at == utc(2024, 3, 12, 8, 15, 2)
    assert cdrs.counts.legs_merged == 1


def test_an_unanswered_call_takes_its_last_attempt_s_disposition():
    busy = asterisk_line(answer="", billsec="0", disposition="BUSY")
    no_answer = asterisk_line(
        start='"2024-03-12 09:15:05"', answer="", billsec="0", disposition="NO ANSWER"
    )
    (call,) = read(f"{busy}\n{no_answer}\n".encode()).records
    assert call.disposition is Disposition.NO_ANSWER


def test_same_channel_name_after_a_restart_is_another_call():
    one = asterisk_line(uniqueid="1710234902.1", channel="SIP/201-00000001")
    later = asterisk_line(
        uniqueid="1710299999.1",
        channel="SIP/201-00000001",
        start='"2024-03-12 19:15:02"',
        answer='"2024-03-12 19:15:09"',
        end='"2024-03-12 19:17:13"',
    )
    assert len(read(f"{one}\n{later}\n".encode()).records) == 2


def test_a_bridged_b_leg_s_own_row_is_merged_into_the_caller_s_call():
    caller = asterisk_line(uniqueid="1710234902.18")  # dials SIP/trunk-1710234902.18
    b_leg = asterisk_line(uniqueid="1710234903.19", channel="SIP/trunk-1710234902.18", billsec="99")
    (call,) = read(f"{b_leg}\n{caller}\n".encode()).records
    assert (call.call_id, call.billsec, call.line) == ("1710234902.18", 124, 1)


def test_asterisk_custom_with_the_sample_mapping_and_quoted_integers():
    cdrs = read("asterisk_custom_master.csv", layout="asterisk-custom")
    answered, unanswered = cdrs.records
    assert (answered.call_id, answered.account_code, answered.billsec) == (
        "1710234902.18",
        "acme",
        124,
    )
    assert answered.answered_at == utc(2024, 3, 12, 8, 15, 9)
    assert (unanswered.disposition, unanswered.answered_at) == (Disposition.NO_ANSWER, None)
    assert accounted(cdrs)


def test_asterisk_custom_positions_overridden_by_a_column_map():
    line = (
        b'"acme","1710234902.18","201","00442071234567","2024-03-12 09:15:02",'
        b'"","2024-03-12 09:15:09","124","ANSWERED"\n'
    )
    column_map = {"account_code": 0, "call_id": 1, "source": 2, "destination": 3, "start": 4,
                  "answer": 6, "end": 5, "billsec": 7, "disposition": 8}  # fmt: skip
    (call,) = read(line, layout="asterisk-custom", column_map=column_map).records
    assert (call.call_id, call.destination, call.billsec) == (
        "1710234902.18",
        "00442071234567",
        124,
    )


def test_freeswitch_default_template():
    cdrs = read("freeswitch_master.csv", layout="freeswitch")
    by_destination = {r.destination: r for r in cdrs.records}
    answered = by_destination["00442071234567"]  # with its B-leg (legs "ab") merged
    assert (answered.call_id, answered.billsec, answered.source) == (
        "5d6a3c1e-8f3b-4a51-9d1e-0a7f3c2b9e11",
        124,
        "1000",
    )
    expected = {
        "00493012345678": Disposition.NO_ANSWER,  # ORIGINATOR_CANCEL
        "0033145678901": Disposition.BUSY,  # USER_BUSY
        "0034911234567": Disposition.NO_ANSWER,  # NO_ANSWER
        "0612345678": Disposition.CONGESTION,  # NORMAL_CIRCUIT_CONGESTION
        "0612345679": Disposition.FAILED,  # CALL_REJECTED
        "0044113496000": Disposition.ANSWERED,  # answered, then MEDIA_TIMEOUT
    }
    assert {d: by_destination[d].disposition for d in expected} == expected
    assert by_destination["0044113496000"].billsec == 1800
    c = cdrs.counts
    assert (c.lines, c.records, c.answered, c.legs_merged) == (8, 7, 2, 1)
    assert c.not_answered == {"busy": 1, "congestion": 1, "failed": 1, "no_answer": 2}
    assert accounted(cdrs)


def test_generic_csv_read_by_its_header_spellings():
    data = (
        b"uniqueid,accountcode,src,dst,start,answer,end,billsec,disposition\n"
        b"c-1,acme,201,+442071234567,2024-03-12T08:15:02Z,2024-03-12T08:15:09Z,2024-03-12T08:17:13Z,124,ANSWERED\n"
        b"c-2,acme,201,sip:bob@example.com,2024-03-12 09:20:00,,2024-03-12 09:21:00,,NO ANSWER\n"
    )
    cdrs = read(data, layout="csv")
    first, second = cdrs.records
    assert first.started_at == utc(2024, 3, 12, 8, 15, 2)  # an offset written is kept
    assert (first.billsec, first.line) == (124, 2)
    assert second.destination == "sip:bob@example.com"  # as written
    assert (second.billsec, second.disposition) == (0, Disposition.NO_ANSWER)
    assert cdrs.counts.lines == 2  # the header is not a record


def test_generic_csv_with_a_column_map_by_name_and_by_position():
    header = b"Call Ref;Customer;Caller;Called Number;Start Time;Connect Time;Seconds;Result\n"
    row = b"r-9;acme;201;0612345678;2024-03-12 09:15:02;2024-03-12 09:15:09;60;ANSWERED\n"
    by_name = {"call_id": "Call Ref", "account_code": "Customer", "source": "Caller",
               "destination": "Called Number", "start": "Start Time", "answer": "Connect Time",
               "billsec": "Seconds", "disposition": "Result"}  # fmt: skip
    # A European export: semicolons, told from the header.
    (call,) = read(header + row, layout="csv", column_map=by_name).records
    assert (call.call_id, call.account_code, call.destination, call.billsec) == (
        "r-9",
        "acme",
        "0612345678",
        60,
    )
    by_position = {
        "call_id": 0,
        "destination": 3,
        "start": 4,
        "answer": 5,
        "billsec": 6,
        "disposition": 7,
    }
    (call,) = read(row.replace(b";", b","), layout="csv", column_map=by_position).records
    assert (call.call_id, call.disposition) == ("r-9", Disposition.ANSWERED)


def test_a_header_without_the_columns_rejects_its_lines_and_says_why():
    cdrs = read(b"foo,bar\n1,2\n3,4\n", layout="csv")
    assert cdrs.records == []
    assert [(r.line, r.reason) for r in cdrs.rejected] == [
        (1, "header"),
        (2, "header"),
        (3, "header"),
    ]
    assert "call_id" in cdrs.rejected[0].message
    assert accounted(cdrs)


def test_wrong_settings_are_the_caller_s_error():
    with pytest.raises(ValueError, match="layout"):
        read(b"", layout="cisco")
    with pytest.raises(ValueError, match="role"):
        read(b"", layout="csv", column_map={"price": "Rate"})
    with pytest.raises(ValueError, match="position"):
        read(b"", layout="asterisk-custom", column_map={"billsec": "billsec"})
    with pytest.raises(ValueError, match="fixed columns"):
        read(b"", layout="freeswitch", column_map={"billsec": 3})
