from datetime import date, datetime
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
    status: Literal["pending_payment", "active", "suspended", "cancelled"] = Field(
        description="suspended: the account's service is suspended (an invoice is unpaid)"
    )
    created_at: datetime
    activated_at: datetime | None
    cancelled_at: datetime | None
    cancels_on: date | None = Field(
        description="cancelled by you, still in service: the last day of service"
    )
    next_plan: str | None = Field(
        None, description="a plan change scheduled: the new plan's code, from plan_changes_on"
    )
    plan_changes_on: date | None = Field(description="the first day on next_plan")

    @staticmethod
    def resolve_plan(obj: PhoneUser) -> str:
        return obj.plan.code

    @staticmethod
    def resolve_next_plan(obj: PhoneUser) -> str | None:
        return obj.next_plan.code if obj.next_plan_id else None

    @staticmethod
    def resolve_plan_name(obj: PhoneUser) -> str:
        return obj.plan.name


class PhoneNumberOut(Schema):
    id: int
    e164: str = Field(description="E.164: +31201234567")
    display: str = Field(description="as people read it: +31 20 123 4567")
    country: str = Field(description="ISO 3166 alpha-2")
    number_type: Literal["geographic", "national", "mobile", "toll_free"]
    status: Literal["held", "assigned", "suspended"] = Field(
        description="held: in the basket until held_until (after it, anyone may take it); "
        "assigned: the account's; suspended: the account's, its service suspended (an "
        "invoice is unpaid)"
    )
    held_until: datetime | None
    assigned_at: datetime | None
    cancels_on: date | None = Field(
        description="cancelled by you, still in service: the last day of service"
    )

    @staticmethod
    def resolve_display(obj: PhoneNumber) -> str:
        return e164_display(obj.e164)


class CancellationOut(Schema):
    """What cancelling the item does, or did."""

    kind: Literal["phone_user", "phone_number"]
    id: int
    name: str = Field(description="the user (with its extension) or the number as people read it")
    ends_on: date = Field(
        description="the last day of service, in the account's time zone: the end of the "
        "period already billed, or today"
    )
    at_once: bool = Field(
        description="true: the service ends today, the item is cancelled now; false: it "
        "stays in service until ends_on"
    )

    @staticmethod
    def resolve_kind(obj) -> str:
        return obj.item.kind

    @staticmethod
    def resolve_id(obj) -> int:
        return obj.item.id


class PlanChangeIn(Schema):
    product_id: int = Field(description="the new plan: a paid plan offered in your currency")


class PlanChangeOut(Schema):
    """What moving the user to another plan does, or did."""

    user_id: int
    name: str = Field(description="the user with its extension")
    previous_plan: str = Field(description="the plan's code before the change")
    plan: str = Field(description="the new plan's code")
    plan_name: str
    starts_on: date = Field(
        description="the first day on the new plan, in the account's time zone: the next "
        "period, or today (the operator's plan-change policy)"
    )
    at_once: bool = Field(
        description="true: the user is on the new plan now; false: from starts_on (the "
        "user shows next_plan and plan_changes_on until then)"
    )
    note: str = Field(description="what else happens, e.g. the unused days credited")

    @staticmethod
    def resolve_user_id(obj) -> int:
        return obj.user.pk

    @staticmethod
    def resolve_name(obj) -> str:
        return str(obj.user)

    @staticmethod
    def resolve_previous_plan(obj) -> str:
        return obj.old_plan.code

    @staticmethod
    def resolve_plan(obj) -> str:
        return obj.plan.code

    @staticmethod
    def resolve_plan_name(obj) -> str:
        return obj.plan.name
