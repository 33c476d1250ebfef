"""The same Idempotency-Key sent by many workers at once, on PostgreSQL: the unique
constraint on (scope, key) lets one through; the others wait for nothing and get a 409 (still
running) or the replay (a 410 for a response that showed a secret)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from billtone.accounts.models import ApiToken
from billtone.accounts.services import api_token_create
from billtone.core.services import Actor
from conftest import ApiClient

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="parallel connections are PostgreSQL's; SQLite runs one writer at a time",
)

WORKERS = 8


def test_one_of_many_concurrent_requests_with_one_key_acts(transactional_db, owner):
    secret = api_token_create(membership=owner, name="test", actor=Actor.system("test")).secret
    barrier = threading.Barrier(WORKERS)

    def send(_):
        try:
            barrier.wait(timeout=30)
            return ApiClient(secret).post(
                "/api/v1/api-tokens", {"name": "raced"}, HTTP_IDEMPOTENCY_KEY="one-key"
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        statuses = sorted(response.status_code for response in pool.map(send, range(WORKERS)))

    assert statuses.count(201) == 1 and set(statuses) <= {201, 409, 410}, statuses
    assert ApiToken.objects.filter(name="raced").count() == 1
