from decimal import Decimal

from billtone.rating.models import AutoTopUp, TopUp
from billtone.rating.tests.topup_fixtures import credit, fund, turn_on

URL = "/api/v1/auto-top-up"


def test_get_before_any_setting_shows_the_values_offered(api, customer):
    body = api.get(URL).json()
    assert body["enabled"] is False and body["value"] is None
    assert body["values_offered"] == ["10.00", "20.00", "50.00", "100.00"]


def test_put_saves_and_a_value_not_offered_is_a_problem_changing_nothing(api, customer):
    answer = api.put(URL, {"enabled": True, "value": "20.00", "threshold": "5"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["value"] == "20.00" and answer.json()["threshold"] == "5.00"
    refused = api.put(URL, {"enabled": True, "value": "15", "threshold": "5"})
    assert refused.status_code == 422
    assert refused["Content-Type"].startswith("application/problem+json")
    assert "10.00, 20.00, 50.00, 100.00" in refused.json()["errors"]["value"][0]
    unreadable = api.put(URL, {"enabled": True, "value": "20", "threshold": "1e3"})
    assert unreadable.status_code == 422 and "threshold" in unreadable.json()["errors"]
    setting = AutoTopUp.objects.get()
    assert (setting.value, setting.threshold) == (Decimal(20), Decimal(5))


def test_top_ups_are_listed_and_another_accounts_are_404(api, other_api, account, customer):
    fund(account, "100")
    credit(account, "1")
    turn_on(account)
    top_up = TopUp.objects.get(account=account)
    page = api.get("/api/v1/top-ups").json()
    assert [row["id"] for row in page["items"]] == [top_up.pk]
    # the account has no country yet: taxed as at the operator's (NL, 21 %)
    assert page["items"][0]["gross"] == "12.10" and page["items"][0]["invoice_number"]
    assert api.get(f"/api/v1/top-ups/{top_up.pk}").status_code == 200
    assert other_api.get(f"/api/v1/top-ups/{top_up.pk}").status_code == 404
    assert other_api.get("/api/v1/top-ups").json()["items"] == []
    assert other_api.get(URL).json()["enabled"] is False
