from billtone.core.errors import ApplicationError


class InvoiceMismatch(ApplicationError):
    """The invoice's totals are not what its ledger transaction posts: nothing is issued, and
    the caller's transaction (payment, allocation) is rolled back with it."""

    def __init__(self, detail: str):
        super().__init__(
            detail=detail,
            slug="invoice-mismatch",
            title="The invoice does not match the payment",
            status=409,
        )


class SubscriptionExists(ApplicationError):
    def __init__(self, detail: str):
        super().__init__(
            detail=detail, slug="subscription-exists", title="Already subscribed", status=409
        )
