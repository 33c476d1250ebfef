import re
from datetime import date
from typing import Annotated, Any

from ninja import Schema
from pydantic import BeforeValidator

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> Any:
    # Pydantic alone also takes numbers as Unix timestamps (`?to=0` is 1970-01-01), which the
    # schema (a string of format date) does not allow.
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("Enter a date as YYYY-MM-DD.")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A date in the API's input: only YYYY-MM-DD, as the OpenAPI schema says."""


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
