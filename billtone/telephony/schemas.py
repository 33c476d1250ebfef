from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from billtone.telephony.models import PhoneNumber, PhoneUser
from billtone.telephony.numbers import e164_display


class PhoneUserOut(Schema):
    id: int
    name: str
    email: str
    extension: str
    plan: str = Field(description="the plan's product code, e.g. national")
    plan_name: str
    status: Literal["pending_payment", "active", "cancelled"]
    created_at: datetime
    activated_at: datetime | None
    cancelled_at: datetime | None

    @staticmethod
    def resolve_plan(obj: PhoneUser) -> str:
        return obj.plan.code

    @staticmethod
    def resolve_plan_name(obj: PhoneUser) -> str:
        return obj.plan.name


class PhoneNumberOut(Schema):
    id: int
    e164: str = Field(description="E.164: +31201234567")
    display: str = Field(description="as people read it: +31 20 123 4567")
    country: str = Field(description="ISO 3166 alpha-2")
    number_type: Literal["geographic", "national", "mobile", "toll_free"]
    status: Literal["held", "assigned"] = Field(
        description="held: in the basket until held_until (after it, anyone may take it); "
        "assigned: the account's"
    )
    held_until: datetime | None
    assigned_at: datetime | None

    @staticmethod
    def resolve_display(obj: PhoneNumber) -> str:
        return e164_display(obj.e164)
