"""Errors of card payments, each with a stable problem type (docs/api.md)."""

from billtone.core.errors import ApplicationError


class CardDeclined(ApplicationError):
    """The gateway refused a card: to save it, or to pay with it. Nothing was charged.

    `failure_code` is the gateway's reason (generic_decline, insufficient_funds,
    authentication_required, ...); the API adds it and the payment's id to the problem.
    """

    def __init__(
        self,
        *,
        failure_code: str,
        message: str,
        field: str | None = None,
        payment_id: int | None = None,
    ):
        super().__init__(
            detail=message,
            slug="card-declined",
            title="Card declined",
            status=402,
            errors={field: [message]} if field else {},
        )
        self.failure_code = failure_code
        self.payment_id = payment_id

    @property
    def extensions(self) -> dict:
        extra: dict = {"failure_code": self.failure_code}
        if self.payment_id is not None:
            extra["payment_id"] = self.payment_id
        return extra


class RefundFailed(ApplicationError):
    def __init__(self, *, failure_code: str, message: str, payment_id: int):
        super().__init__(detail=message, slug="refund-failed", title="Refund failed", status=409)
        self.failure_code = failure_code
        self.payment_id = payment_id

    @property
    def extensions(self) -> dict:
        return {"failure_code": self.failure_code, "payment_id": self.payment_id}


class CardInUse(ApplicationError):
    def __init__(self, detail: str):
        super().__init__(detail=detail, slug="card-in-use", title="Card in use", status=409)


class PaymentKeyReused(ApplicationError):
    def __init__(self):
        super().__init__(
            detail=(
                "This idempotency key was already used for a different payment. "
                "Use a new key for a new payment."
            ),
            slug="idempotency-key-reused",
            title="Idempotency key reused",
            status=422,
        )


class PaymentStateConflict(ApplicationError):
    def __init__(self, detail: str):
        super().__init__(
            detail=detail, slug="payment-state-conflict", title="Not possible now", status=409
        )


class CardAlreadySaved(ApplicationError):
    """The card is one of the account's saved cards already (decision 0016). 409: it
    conflicts with the account's cards as they are; `card_id` names the saved one."""

    def __init__(self, *, detail: str, card_id: int):
        super().__init__(
            detail=detail,
            slug="card-already-saved",
            title="Card already saved",
            status=409,
            errors={"number": [detail]},
        )
        self.card_id = card_id

    @property
    def extensions(self) -> dict:
        return {"card_id": self.card_id}
