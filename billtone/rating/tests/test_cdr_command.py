"""`billtone import-cdrs FILE`: an Asterisk Master.csv rated, its bad lines kept, charged once."""

import io
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from billtone.rating.cdr_models import Cdr, CdrLineRejected
from billtone.rating.tests.conftest import call_credit, credit_add, deck_make, user_make

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"
MALFORMED = '"acme","201","00442071234567","from-internal","only five"'
BAD_DATE = MALFORMED + ',"x","y","Dial","z","2024-13-45 09:15:02",,"2024-03-12 09:17:13",1,1,'
BAD_DATE += '"ANSWERED","DOCUMENTATION","1710234999.99",""'


def run(*args) -> str:
    out = io.StringIO()
    call_command("import-cdrs", *map(str, args), stdout=out)
    return out.getvalue()


@pytest.fixture
def master_csv(tmp_path, gb, plans):
    """The Asterisk fixture (answered, no answer, busy, failed, Local halves, voicemail) for
    the `gb` account, with a line of 5 columns, a bad date and an exact duplicate line."""
    for extension in ("201", "202", "203"):
        user_make(gb, extension, plans["payg"])
    deck_make(
        effective_from=datetime(2024, 1, 1, tzinfo=UTC),
        rates=[("44", "United Kingdom", "0.0200"), ("4420", "London", "0.0100", "0.0500")],
    )
    credit_add(gb, "10.00")
    text = (DATA / "asterisk_master_18.csv").read_text().replace('"acme"', f'"{gb.pk}"')
    first = text.splitlines()[0]
    path = tmp_path / "Master.csv"
    path.write_text(text.rstrip("\n") + f"\n{MALFORMED}\n{BAD_DATE}\n{first}\n")
    return path


def test_an_asterisk_master_csv_is_rated_and_its_bad_lines_kept(gb, master_csv):
    out = run(master_csv, "--layout=asterisk", "--switch-tz=Europe/London")

    cdrs = {c.destination: c for c in Cdr.objects.all()}
    assert len(cdrs) == 6  # 7 good lines, the two Local halves one call
    assert cdrs["00442071234567"].status == "rated"
    assert cdrs["00442071234567"].cost == Decimal("0.0800")  # fee + 3 started minutes
    # the Local halves: one call; 01632 960xxx is Ofcom's drama range, no real number
    assert cdrs["00441632960123"].reason == "not_a_number"
    assert {cdrs[d].disposition for d in ("00493012345678", "0033145678901", "0034911234567")} == {
        "no_answer",
        "busy",
        "failed",
    }
    assert {cdrs[d].reason for d in ("00493012345678", "0033145678901")} == {"unanswered"}
    assert cdrs["*97"].reason == "not_a_number"
    assert call_credit(gb) == Decimal("9.9200")
    rejected = list(CdrLineRejected.objects.values_list("file_name", "line", "reason"))
    assert rejected == [("Master.csv", 8, "columns"), ("Master.csv", 9, "date")]
    assert CdrLineRejected.objects.get(line=8).text == MALFORMED
    for label in ("Records read (lines)", "Legs merged", "Rejected line: columns"):
        assert label in out
    assert "│ Rated " in out and "Duplicate lines in the file" in out


def test_the_same_file_imported_twice_charges_once(gb, master_csv):
    run(master_csv, "--layout=asterisk")
    out = run(master_csv, "--layout=asterisk")

    assert Cdr.objects.count() == 6
    assert call_credit(gb) == Decimal("9.9200")
    assert re.search(r"not charged again\)\s*│\s*6 │", out)
    assert CdrLineRejected.objects.count() == 4  # each import's bad lines, for its batch


def test_the_switch_time_zone_is_the_setting_unless_given(gb, master_csv, settings):
    settings.BILLTONE_SWITCH_TIME_ZONE = "America/New_York"
    run(master_csv, "--layout=asterisk")

    started = Cdr.objects.get(destination="00442071234567").started_at
    assert started == datetime(2024, 3, 12, 13, 15, 2, tzinfo=UTC)  # 09:15:02 EDT


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv", "--layout=asterisk"], "No such file"),
        (["{file}", "--layout=kamailio"], "invalid choice"),
        (["{file}", "--layout=asterisk", "--map=call_id=uuid"], "fixed columns"),
        (["{file}", "--layout=csv", "--map=nonsense"], "is not role=Column"),
        (["{file}", "--layout=csv", "--map=colour=3"], "unknown role"),
        (["{file}", "--layout=asterisk", "--switch-tz=Mars/Base"], "not an IANA time zone"),
        (["{file}", "--layout=asterisk", "--processes=0"], "--processes: a number"),
    ],
)
def test_a_bad_invocation_fails_and_stores_nothing(master_csv, args, message):
    with pytest.raises(CommandError, match=message):
        run(*[arg.format(file=master_csv) for arg in args])
    assert not Cdr.objects.exists() and not CdrLineRejected.objects.exists()


def test_the_back_office_lists_the_rejected_lines_read_only(admin_client, gb, master_csv):
    run(master_csv, "--layout=asterisk")
    url = "/admin/rating/cdrlinerejected/"

    page = admin_client.get(url, {"reason": "date"})
    assert page.status_code == 200
    assert "2024-13-45" in page.content.decode() and "only five" not in page.content.decode()
    line = CdrLineRejected.objects.get(reason="columns")
    assert admin_client.get(f"{url}{line.pk}/change/").status_code == 200
    assert admin_client.post(f"{url}{line.pk}/delete/").status_code == 403
