import pytest

from billtone.accounts.models import ApiToken
from billtone.core.models import AuditEntry
from conftest import api_client_for

PROFILE = {
    "company_name": "Acme Telecom GmbH",
    "billing_email": "billing@acme.example",
    "currency": "EUR",
    "timezone": "Europe/Berlin",
    "address_line1": "Friedrichstraße 68",
    "city": "Berlin",
    "postal_code": "10117",
    "country": "DE",
}


def test_get_and_put_billing_profile(api):
    response = api.put("/api/v1/billing-profile", PROFILE)
    assert response.status_code == 200, response.content
    body = api.get("/api/v1/billing-profile").json()
    assert {k: body[k] for k in PROFILE} == PROFILE
    entry = AuditEntry.objects.get(action="billing_profile.update")
    assert "API token" in entry.actor_label


def test_invalid_profile_is_a_problem_with_field_errors_and_changes_nothing(api):
    before = api.get("/api/v1/billing-profile").json()
    response = api.put(
        "/api/v1/billing-profile", {**PROFILE, "timezone": "Nowhere/Atlantis", "country": ""}
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/validation-error")
    assert set(problem["errors"]) == {"timezone", "country"}
    assert api.get("/api/v1/billing-profile").json() == before


def test_malformed_body_is_a_422_problem(api):
    response = api.put("/api/v1/billing-profile", {"company_name": 5})
    assert response.status_code == 422
    assert response.json()["type"].endswith("/validation-error")
    response = api.generic(
        "PUT", "/api/v1/billing-profile", b"{not json", content_type="application/json"
    )
    assert response.status_code in (400, 422)
    assert response["Content-Type"] == "application/problem+json"


def test_no_or_bad_token_is_401_problem(client, api):
    response = client.get("/api/v1/billing-profile")
    assert response.status_code == 401
    assert response.json()["type"].endswith("/unauthenticated")
    response = client.get("/api/v1/billing-profile", HTTP_AUTHORIZATION="Bearer bt_nope_nope")
    assert response.status_code == 401


def test_member_without_billing_rights_gets_403(member):
    response = api_client_for(member).get("/api/v1/billing-profile")
    assert response.status_code == 403
    assert response.json()["type"].endswith("/forbidden")


def test_token_shown_once_stored_hashed_and_revocable(api, owner):
    created = api.post("/api/v1/api-tokens", {"name": "PBX sync"})
    assert created.status_code == 201
    secret = created.json()["secret"]
    token = ApiToken.objects.get(pk=created.json()["id"])
    assert secret not in token.secret_hash and token.secret_hash != secret
    listed = api.get("/api/v1/api-tokens").json()
    assert listed["count"] == 2 and all("secret" not in item for item in listed["items"])
    from conftest import ApiClient

    new_client = ApiClient(secret)
    assert new_client.get("/api/v1/billing-profile").status_code == 200
    assert api.delete(f"/api/v1/api-tokens/{token.pk}").status_code == 200
    assert new_client.get("/api/v1/billing-profile").status_code == 401


def test_pagination_of_lists(api, owner):
    for i in range(5):
        api.post("/api/v1/api-tokens", {"name": f"t{i}"})
    page = api.get("/api/v1/api-tokens", {"page": 2, "page_size": 2}).json()
    assert page["count"] == 6 and len(page["items"]) == 2 and page["has_next"] is True
    last = api.get("/api/v1/api-tokens", {"page": 3, "page_size": 2}).json()
    assert last["has_next"] is False
    assert api.get("/api/v1/api-tokens", {"page_size": 0}).status_code == 422


@pytest.mark.django_db
def test_operator_token_sees_accounts_and_customer_token_does_not(django_user_model, account, api):
    from billtone.accounts.services import operator_token_create
    from conftest import ApiClient

    staff = django_user_model.objects.create_user("ops", password="x", is_staff=True)
    operator = ApiClient(operator_token_create(user=staff, name="ops").secret)
    listed = operator.get("/api/v1/operator/accounts").json()
    assert [a["name"] for a in listed["items"]] == ["Acme Telecom GmbH"]
    assert operator.get(f"/api/v1/operator/accounts/{account.pk}").json()["currency"] == "EUR"
    assert operator.get("/api/v1/operator/accounts/999999").status_code == 404
    assert api.get("/api/v1/operator/accounts").status_code == 403
    assert operator.get("/api/v1/billing-profile").status_code == 403


def test_audit_log_lists_the_accounts_entries_only(api, other_api):
    api.put("/api/v1/billing-profile", PROFILE)
    mine = api.get("/api/v1/audit-log").json()
    assert "billing_profile.update" in [e["action"] for e in mine["items"]]
    theirs = other_api.get("/api/v1/audit-log").json()
    assert "billing_profile.update" not in [e["action"] for e in theirs["items"]]
