from billtone.core.errors import ApplicationError
from billtone.core.money import Money


class InsufficientFunds(ApplicationError):
    """A debit would take a customer's balance below its floor."""

    def __init__(self, *, label: str, balance: Money, debit: Money, floor: Money):
        if floor.is_zero():
            detail = f"{label} hold {balance}; this needs {debit}."
        else:
            detail = f"{label} hold {balance} with a limit of {-floor}; this needs {debit}."
        super().__init__(
            detail=detail, slug="insufficient-funds", title="Insufficient funds", status=409
        )


class IdempotencyKeyReused(ApplicationError):
    def __init__(self, key: str):
        super().__init__(
            detail=(
                f"The idempotency key {key!r} was already used for a different transaction. "
                "Use a new key for a new transaction."
            ),
            slug="idempotency-key-reused",
            title="Idempotency key reused",
            status=422,
        )


class AlreadyReversed(ApplicationError):
    def __init__(self, detail: str):
        super().__init__(detail=detail, slug="already-reversed", title="Cannot reverse", status=409)
