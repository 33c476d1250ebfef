import re
from datetime import date
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Schema
from pydantic import BeforeValidator, Field, PlainSerializer, SerializationInfo

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> Any:
    # Pydantic alone also takes numbers as Unix timestamps (`?to=0` is 1970-01-01), which the
    # schema (a string of format date) does not allow.
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("Enter a date as YYYY-MM-DD.")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A date in the API's input: only YYYY-MM-DD, as the OpenAPI schema says."""


_SHOWN_ONCE = "_billtone_secrets_shown"


def _shown_once(value: str, info: SerializationInfo) -> str:
    request = (info.context or {}).get("request")
    if request is not None:
        secrets = getattr(request, _SHOWN_ONCE, None)
        if secrets is None:
            secrets = []
            setattr(request, _SHOWN_ONCE, secrets)
        secrets.append(value)
    return value


ShownOnce = Annotated[
    str,
    PlainSerializer(_shown_once, return_type=str),
    Field(json_schema_extra={"x-shown-once": True}),
]
"""A secret in an API response, shown in that response only (an API token's secret).

Type every such field so: when Ninja renders it, the request notes the secret, and the
Idempotency-Key store (billtone/core/idempotency.py) then keeps no copy of the response.
tests/api/test_secrets_never_stored.py fails on a response field that looks secret and is not
typed so, and scans every table after every route that shows one.
"""


def secrets_shown(request: HttpRequest) -> list[str]:
    """The ShownOnce values rendered in the response to `request`."""
    return getattr(request, _SHOWN_ONCE, [])


class Problem(Schema):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: dict[str, list[str]] | None = None


class AuditEntryOut(Schema):
    id: int
    created_at: str
    actor: str
    action: str
    object_type: str
    object_id: str
    changes: dict

    @staticmethod
    def resolve_created_at(obj) -> str:
        return obj.created_at.isoformat()

    @staticmethod
    def resolve_actor(obj) -> str:
        return obj.actor_label
