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


class AccountSuspended(ApplicationError):
    """The account's service is suspended (an invoice is unpaid): no users or numbers may be
    added, nor made active, until it is paid."""

    def __init__(
        self,
        detail: str = (
            "Your service is suspended because an invoice is unpaid: pay it on the Invoices "
            "page, then add users and numbers again."
        ),
    ):
        super().__init__(
            detail=detail, slug="account-suspended", title="Account suspended", status=409
        )


class NotCancellable(ApplicationError):
    """The user or number cannot be cancelled by the customer: it waits for payment in the
    basket (the bin takes it out), or it is cancelled already. The message says which."""

    def __init__(self, detail: str):
        super().__init__(detail=detail, slug="not-cancellable", title="Not cancellable", status=409)


class PlanNotChangeable(ApplicationError):
    """The user's plan cannot be changed now: not active, cancelled, a change already
    scheduled, or on Pay As You Go (a free plan: add a new user on a paid plan). The message
    says which."""

    def __init__(self, detail: str):
        super().__init__(
            detail=detail, slug="plan-not-changeable", title="Plan not changeable", status=409
        )
