from datetime import timedelta

import time_machine

from billtone.accounts.models import ApiToken
from billtone.core import clock
from billtone.core.idempotency import idempotency_keys_purge
from billtone.core.models import IdempotencyKey


def post(api, body, key):
    return api.post("/api/v1/api-tokens", body, HTTP_IDEMPOTENCY_KEY=key)


def test_same_key_and_body_replays_the_first_response(api):
    first = post(api, {"name": "sync"}, "key-1")
    again = post(api, {"name": "sync"}, "key-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert ApiToken.objects.filter(name="sync").count() == 1


def test_same_key_with_a_different_body_is_refused(api):
    post(api, {"name": "sync"}, "key-2")
    refused = post(api, {"name": "other"}, "key-2")
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/idempotency-key-reused")
    assert not ApiToken.objects.filter(name="other").exists()


def test_keys_are_per_account(api, other_api):
    assert post(api, {"name": "a"}, "shared").status_code == 201
    assert post(other_api, {"name": "b"}, "shared").status_code == 201


def test_without_a_key_each_post_acts(api):
    post_plain = api.post("/api/v1/api-tokens", {"name": "x"})
    post_again = api.post("/api/v1/api-tokens", {"name": "x"})
    assert post_plain.json()["id"] != post_again.json()["id"]


def test_client_errors_are_replayed_too(api):
    first = post(api, {"name": ""}, "key-bad")
    assert first.status_code == 422
    assert post(api, {"name": ""}, "key-bad")["Idempotent-Replayed"] == "true"


def test_invalid_key_is_a_400_problem(api):
    response = post(api, {"name": "x"}, "k" * 300)
    assert response.status_code == 400
    assert response.json()["type"].endswith("/idempotency-key-invalid")


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
