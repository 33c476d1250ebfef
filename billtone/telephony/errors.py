"""Errors of phone users and numbers, each with a stable problem type (RFC 9457)."""

from billtone.core.errors import ApplicationError


class NumberUnavailable(ApplicationError):
    """Someone else holds the number, or it is assigned: 409."""

    def __init__(self, detail: str = "This number is no longer available."):
        super().__init__(
            detail=detail,
            slug="number-unavailable",
            title="Number unavailable",
            status=409,
            errors={"number": [detail]},
        )


class HoldLapsed(ApplicationError):
    """At checkout: a number's hold for this account has run out (it may be free or someone
    else's now). The message names the number."""

    def __init__(self, detail: str):
        super().__init__(detail=detail, slug="hold-lapsed", title="Hold lapsed", status=409)


class ItemsChanged(ApplicationError):
    """At checkout: a user or number is not what the basket holds any more (cancelled,
    active already, someone else's). The message names the item."""

    def __init__(self, detail: str):
        super().__init__(detail=detail, slug="items-changed", title="Items changed", status=409)
