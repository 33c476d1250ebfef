"""core.idempotency as every API operation applies it, seen through a real route (accounts'
API tokens): here, above the apps, since core may not import them."""

from datetime import timedelta

import time_machine

from billtone.accounts.models import ApiToken, Membership
from billtone.accounts.services import member_add
from billtone.core import clock
from billtone.core.idempotency import idempotency_keys_purge
from billtone.core.models import IdempotencyKey
from billtone.core.services import Actor
from conftest import api_client_for

TOKENS = "/api/v1/api-tokens"


def post(api, body, key):
    return api.post(TOKENS, body, HTTP_IDEMPOTENCY_KEY=key)


def test_a_replay_names_the_created_token_and_says_its_secret_was_shown_once(api):
    first = post(api, {"name": "sync"}, "key-1")
    again = post(api, {"name": "sync"}, "key-1")

    assert first.status_code == 201 and first.json()["secret"].startswith("bt_")
    assert again.status_code == 410, again.content
    assert again["Content-Type"] == "application/problem+json"
    assert again["Idempotent-Replayed"] == "true"
    problem = again.json()
    assert problem["type"].endswith("/secret-shown-once") and problem["status"] == 410
    assert problem["id"] == first.json()["id"]
    assert "shown once" in problem["detail"]
    assert first.json()["secret"] not in again.content.decode()
    assert ApiToken.objects.filter(name="sync").count() == 1


def test_same_key_with_a_different_body_is_refused(api):
    post(api, {"name": "sync"}, "key-2")
    refused = post(api, {"name": "other"}, "key-2")
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/idempotency-key-reused")
    assert not ApiToken.objects.filter(name="other").exists()


def test_the_same_json_spaced_and_ordered_otherwise_is_a_replay_not_a_reuse(api):
    def send(raw: str):
        return api.post(TOKENS, raw, HTTP_IDEMPOTENCY_KEY="key-json")

    assert send('{"name":"sync","note":"a"}').status_code == 201
    again = send('{\n  "note": "a",\n  "name": "sync"\n}\n')
    assert again.status_code == 410 and again["Idempotent-Replayed"] == "true"
    assert send('{"name": "sync", "note": "b"}').status_code == 422
    assert ApiToken.objects.filter(name="sync").count() == 1


def test_keys_are_per_account(api, other_api):
    assert post(api, {"name": "a"}, "shared").status_code == 201
    assert post(other_api, {"name": "b"}, "shared").status_code == 201


def test_keys_are_per_caller_within_an_account(api, account):
    admin = member_add(
        account=account,
        email="admin@acme.example",
        password="correct horse battery",
        role=Membership.Role.BILLING_ADMIN,
        actor=Actor.system("test"),
    )
    first = post(api, {"name": "sync"}, "shared")
    theirs = post(api_client_for(admin), {"name": "sync"}, "shared")

    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs
    assert theirs.json()["id"] != first.json()["id"]
    assert theirs.json()["created_by"] == "admin@acme.example"


def test_a_member_without_billing_rights_gets_a_403_not_the_owners_replay(api, member):
    first = post(api, {"name": "sync"}, "owner-key")
    refused = post(api_client_for(member), {"name": "sync"}, "owner-key")

    assert refused.status_code == 403 and refused.json()["type"].endswith("/forbidden")
    assert "Idempotent-Replayed" not in refused
    assert first.json()["secret"] not in refused.content.decode()
    assert "id" not in refused.json()  # nothing of the owner's token, not even its id


def test_401_and_403_are_never_stored(api, member):
    assert post(api_client_for(member), {"name": "sync"}, "k").status_code == 403
    anonymous = api.post(TOKENS, {"name": "sync"}, HTTP_IDEMPOTENCY_KEY="k", HTTP_AUTHORIZATION="")
    assert anonymous.status_code == 401
    assert not IdempotencyKey.objects.exists()

    created = post(api, {"name": "sync"}, "k")
    assert created.status_code == 201 and "Idempotent-Replayed" not in created


def test_without_a_key_each_post_acts(api):
    post_plain = api.post(TOKENS, {"name": "x"})
    post_again = api.post(TOKENS, {"name": "x"})
    assert post_plain.json()["id"] != post_again.json()["id"]


def test_the_endpoints_own_errors_are_replayed(api):
    first = post(api, {"name": "   "}, "key-bad")  # a name of spaces: the service refuses it
    assert first.status_code == 422 and first.json()["errors"]["name"]
    again = post(api, {"name": "   "}, "key-bad")
    assert again.status_code == 422 and again["Idempotent-Replayed"] == "true"


def test_a_request_refused_before_the_endpoint_ran_leaves_the_key_free(api):
    assert post(api, {"name": ""}, "key-fixed").status_code == 422  # schema validation
    assert post(api, {"name": "sync"}, "key-fixed").status_code == 201


def test_invalid_key_is_a_400_problem(api):
    response = post(api, {"name": "x"}, "k" * 300)
    assert response.status_code == 400
    assert response.json()["type"].endswith("/idempotency-key-invalid")
    assert not ApiToken.objects.filter(name="x").exists()


def test_keys_are_kept_24_hours_and_purged_after_the_ttl(api, settings):
    post(api, {"name": "sync"}, "key-ttl")
    with time_machine.travel(clock.now() + timedelta(hours=24), tick=False):
        assert idempotency_keys_purge() == 0
        assert post(api, {"name": "sync"}, "key-ttl")["Idempotent-Replayed"] == "true"
    with time_machine.travel(
        clock.now() + timedelta(hours=settings.BILLTONE_IDEMPOTENCY_TTL_HOURS + 1), tick=False
    ):
        assert idempotency_keys_purge() == 1
    assert IdempotencyKey.objects.count() == 0


def test_a_key_whose_first_request_is_still_running_answers_409(api, monkeypatch):
    from billtone.accounts import services

    create, during = services.api_token_create, []

    def create_with_a_retry_meanwhile(**kwargs):
        during.append(post(api, {"name": "sync"}, "key-busy"))
        return create(**kwargs)

    monkeypatch.setattr(services, "api_token_create", create_with_a_retry_meanwhile)
    assert post(api, {"name": "sync"}, "key-busy").status_code == 201
    assert during[0].status_code == 409
    assert during[0].json()["type"].endswith("/idempotency-key-in-progress")
    assert ApiToken.objects.filter(name="sync").count() == 1


def test_a_server_error_frees_the_key_for_a_retry(api, monkeypatch):
    from billtone.accounts import services

    create = services.api_token_create
    monkeypatch.setattr(services, "api_token_create", lambda **kwargs: 1 / 0)
    assert post(api, {"name": "sync"}, "key-500").status_code == 500
    monkeypatch.setattr(services, "api_token_create", create)
    assert post(api, {"name": "sync"}, "key-500").status_code == 201
