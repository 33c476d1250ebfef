import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from billtone.accounts.services import operator_token_create
from billtone.rating.cdr_models import Cdr
from billtone.rating.services.ingest import cdrs_ingest
from billtone.rating.tests.conftest import ACTOR, call, call_credit, credit_add
from conftest import ApiClient, api_client_for, owner_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(db):
    staff = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    return ApiClient(operator_token_create(user=staff, name="ops").secret)


def item(call_id, account, **fields):
    return {
        "call_id": call_id,
        "account_code": str(account.pk),
        "source": "21",
        "destination": "020 7946 0958",
        "started_at": "2027-01-10T12:00:00+00:00",
        "answered_at": "2027-01-10T12:00:05+00:00",
        "billsec": 60,
        "disposition": "answered",
        **fields,
    }


def test_operator_posts_a_batch_and_a_re_send_is_a_duplicate(operator, gb, uk_deck):
    credit_add(gb, "5.00")
    batch = [item("a", gb), item("b", gb, destination="*97"), item("c", gb, source="99")]
    response = operator.post("/api/v1/cdrs", batch)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["records_read"], body["rated"], body["not_rated"]) == (3, 1, 1)
    assert body["rejected_by_reason"] == {"unknown_user": 1}
    again = operator.post("/api/v1/cdrs", batch).json()
    assert (again["duplicates"], again["rated"]) == (3, 0)
    assert call_credit(gb) == Decimal("5.00") - Decimal("0.0600")


def test_a_bad_item_refuses_the_batch_naming_its_index(operator, gb, uk_deck):
    batch = [
        item("a", gb),
        item("b", gb, started_at="2027-01-10T12:00:00"),  # no time zone
        item("c", gb, billsec=-1),
    ]
    response = operator.post("/api/v1/cdrs", batch)
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    errors = response.json()["errors"]
    assert set(errors) == {"1.started_at", "2.billsec"}
    assert Cdr.objects.count() == 0
    too_many = [item(f"x{n}", gb) for n in range(1001)]
    assert operator.post("/api/v1/cdrs", too_many).status_code == 422
    assert operator.post("/api/v1/cdrs", []).status_code == 422
    assert operator.post("/api/v1/cdrs", {"call_id": "a"}).status_code == 422


def test_moments_out_of_range_are_refused_and_odd_offsets_kept_as_their_instant(
    operator, gb, uk_deck
):
    credit_add(gb, "5.00")
    batch = [
        item("a", gb, started_at="0141-10-08T19:46:51.938+19:54"),  # PostgreSQL keeps ±15:59
        item("b", gb, answered_at="8797-09-29T22:39:00.88+19:08"),
        item("c", gb, started_at="1969-12-31T23:59:59-01:00"),  # 1970 in UTC, 1969 as written
    ]
    response = operator.post("/api/v1/cdrs", batch)
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"0.started_at", "1.answered_at", "2.started_at"}
    odd = item(
        "d", gb, started_at="2027-01-10T23:50:00+19:54", answered_at="2027-01-10T23:50:05+19:54"
    )
    assert operator.post("/api/v1/cdrs", [odd]).status_code == 200
    assert Cdr.objects.get().started_at.isoformat() == "2027-01-10T03:56:00+00:00"


def test_cdrs_need_an_operator_token(api, gb):
    assert api.post("/api/v1/cdrs", [item("a", gb)]).status_code == 403
    assert Client().post("/api/v1/cdrs", [], content_type="application/json").status_code == 401


def test_call_charges_api_and_csv_show_the_account_s_own_calls(gb, uk_deck, other_account):
    credit_add(gb, "5.00")
    cdrs_ingest(
        records=[
            call("a", account=gb, billsec=61),
            call("b", account=gb, destination="=cmd|' /C calc'!A0"),
            call("z", account=gb, destination="+33 1 23 45 67 89"),
        ],
        source="test",
        actor=ACTOR,
    )
    api = api_client_for(owner_of(gb))
    body = api.get("/api/v1/call-charges", {"from": "2027-01-01", "to": "2027-01-31"}).json()
    assert body["calls"] == 2 and body["charged"] == {"amount": "0.1000", "currency": "GBP"}
    assert {i["destination"] for i in body["items"]} == {"+442079460958", "+33123456789"}
    london = next(i for i in body["items"] if i["destination"] == "+442079460958")
    assert (london["cost"], london["increments"]) == ("0.0700", "60/60")
    assert (
        api.get("/api/v1/call-charges", {"from": "2027-02-01", "to": "2027-01-01"}).status_code
        == 422
    )
    response = api.get("/api/v1/call-charges.csv", {"from": "2027-01-01", "to": "2027-01-31"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "started_at" and len(rows) == 3
    assert rows[1][2] == "+442079460958" and rows[1][9] == "0.0700"
    other = api_client_for(owner_of(other_account))
    assert (
        other.get("/api/v1/call-charges", {"from": "2027-01-01", "to": "2027-01-31"}).json()[
            "calls"
        ]
        == 0
    )


def test_call_charges_page_filters_totals_and_exports(gb, uk_deck, other_account):
    credit_add(gb, "5.00")
    cdrs_ingest(records=[call("a", account=gb, billsec=61)], source="test", actor=ACTOR)
    web = Client()
    web.force_login(owner_of(gb).user)
    page = web.get("/billing/call-charges/", {"date_from": "2027-01-01", "date_to": "2027-01-31"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "+442079460958" in html and "£0.07" in html and "Export CSV" in html
    assert "London" in html
    bad = web.get("/billing/call-charges/", {"date_from": "2027-02-01", "date_to": "2027-01-01"})
    assert (
        bad.status_code == 200 and "The start date is after the end date." in bad.content.decode()
    )
    export = web.get(
        "/billing/call-charges.csv", {"date_from": "2027-01-01", "date_to": "2027-01-31"}
    )
    assert export["Content-Type"].startswith("text/csv")
    assert b"+442079460958" in b"".join(export.streaming_content)
    stranger = Client()
    stranger.force_login(owner_of(other_account).user)
    other = stranger.get(
        "/billing/call-charges/", {"date_from": "2027-01-01", "date_to": "2027-01-31"}
    )
    assert "+442079460958" not in other.content.decode()


def test_back_office_lists_rejected_and_re_rates_the_selected(gb, uk_deck, plans):
    credit_add(gb, "5.00")
    cdrs_ingest(records=[call("who", account=gb, source="77")], source="test", actor=ACTOR)
    cdr = Cdr.objects.get(call_id="who")
    staff = get_user_model().objects.create_superuser("op", "op@example.com", "pw")
    client = Client()
    client.force_login(staff)
    listed = client.get(
        "/admin/rating/cdr/", {"status__exact": "rejected", "reason__exact": "unknown_user"}
    )
    assert listed.status_code == 200 and "who" in listed.content.decode()
    # The operator corrects the caller to a known extension, then re-rates.
    form = client.get(f"/admin/rating/cdr/{cdr.pk}/change/")
    assert form.status_code == 200
    saved = client.post(
        f"/admin/rating/cdr/{cdr.pk}/change/",
        {"account_code": cdr.account_code, "source": "21", "destination": cdr.destination},
    )
    assert saved.status_code == 302, saved.content
    response = client.post(
        "/admin/rating/cdr/",
        {"action": "rerate_selected", "_selected_action": [cdr.pk]},
        follow=True,
    )
    assert "1 rated" in response.content.decode()
    cdr.refresh_from_db()
    assert (cdr.status, cdr.source, cdr.cost) == ("rated", "21", Decimal("0.0600"))
    assert call_credit(gb) == Decimal("5.00") - Decimal("0.0600")
