"""A secret shown once (an API token's) is in no table afterwards, Idempotency-Key or not.

The routes that show a secret are found in the OpenAPI schema: a response field typed
`billtone.core.schemas.ShownOnce` carries `x-shown-once`. A field that looks like a secret
but is not typed so fails here, so a new route cannot forget to say it shows one.
"""

import io
import json
import re

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from billtone.accounts.services import api_token_create
from billtone.core.models import IdempotencyKey
from conftest import owner_of

from . import walker
from .objects import ACTOR

SHOWN_ONCE = "x-shown-once"
LOOKS_SECRET = re.compile(r"secret|password|passphrase|private|api_?key|^token$", re.IGNORECASE)
TOKEN_SECRET = re.compile(r"bt_[0-9a-f]+_[A-Za-z0-9_-]+")


def tables_holding(text: str) -> list[str]:
    """Every table of the database with `text` in any column of any row."""
    tables = connection.introspection.table_names()
    models = {model._meta.db_table for model in apps.get_models(include_auto_created=True)}
    assert models <= set(tables), models - set(tables)
    found = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            if any(_holds(value, text) for row in cursor.fetchall() for value in row):
                found.append(table)
    return found


def _holds(value, text: str) -> bool:
    if isinstance(value, bytes | bytearray | memoryview):
        return text.encode() in bytes(value)
    return value is not None and text in str(value)


def shown_once_fields(operation: walker.Operation) -> list[str]:
    """The response fields of `operation` that show a secret once."""
    fields = []
    for code, response in operation.spec["responses"].items():
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        if code.startswith("2") and schema:
            properties = walker.resolve(schema, operation.root).get("properties", {})
            fields += [name for name, field in properties.items() if field.get(SHOWN_ONCE)]
    return fields


def test_every_field_that_looks_secret_is_marked_shown_once(client):
    root = walker.operations(client)[0].root
    unmarked = [
        f"{schema_name}.{name}"
        for schema_name, schema in root["components"]["schemas"].items()
        for name, field in schema.get("properties", {}).items()
        if LOOKS_SECRET.search(name) and not field.get(SHOWN_ONCE)
    ]
    assert not unmarked, f"type these fields billtone.core.schemas.ShownOnce: {unmarked}"


def test_a_secret_shown_by_the_api_is_in_no_table_after_the_call_and_its_replay(client, owner):
    operations = [op for op in walker.operations(client) if shown_once_fields(op)]
    assert {op.label for op in operations} >= {"POST /api/v1/api-tokens"}
    authorization = f"Bearer {api_token_create(membership=owner, name='scan', actor=ACTOR).secret}"
    for operation in operations:
        request = walker.build_request(operation, owner, {})
        key = {"HTTP_IDEMPOTENCY_KEY": f"scan {operation.label}"}
        first = _send(client, request, authorization, key)
        assert first.status_code < 300, (operation.label, first.content)
        secrets = [first.json()[name] for name in shown_once_fields(operation)]
        assert all(secrets) and IdempotencyKey.objects.filter(key=key["HTTP_IDEMPOTENCY_KEY"])

        for secret in secrets:
            assert tables_holding(secret) == [], operation.label
        replay = _send(client, request, authorization, key)
        assert replay.status_code == 410 and replay["Idempotent-Replayed"] == "true"
        assert replay.json()["id"] == first.json()["id"]
        for secret in secrets:
            assert secret not in replay.content.decode()
            assert tables_holding(secret) == [], operation.label


def _send(client, request: walker.Request, authorization: str, headers: dict):
    return client.generic(
        request.method,
        request.url,
        json.dumps(request.body) if request.body is not None else "",
        content_type="application/json",
        HTTP_AUTHORIZATION=authorization,
        **headers,
    )


def test_a_secret_shown_on_the_tokens_page_is_in_no_table(web):
    response = web.post(reverse("accounts:api-tokens"), {"name": "scan"})
    secret = TOKEN_SECRET.search(response.content.decode())
    assert response.status_code == 200 and secret
    assert tables_holding(secret.group()) == []


def test_an_operator_token_printed_by_the_command_is_in_no_table(db):
    get_user_model().objects.create_user("ops", "ops@operator.example", is_staff=True)
    out = io.StringIO()
    call_command("create-operator-token", "ops", stdout=out)
    secret = TOKEN_SECRET.search(out.getvalue())
    assert secret
    assert tables_holding(secret.group()) == []


def test_the_scan_finds_a_secret_where_one_is_stored(account):
    owner = owner_of(account)
    owner.user.first_name = "bt_0123456789ab_found"
    owner.user.save()
    assert tables_holding("bt_0123456789ab_found") == ["auth_user"]
