"""Why a checkout is refused, each a stable problem type (docs/api.md)."""

from billtone.core.errors import ApplicationError
from billtone.core.money import Money


class Shortfall(ApplicationError):
    """Business funds do not cover the basket: says by how much (the page offers Add Bank
    Transfer; the API adds `shortfall` and `currency`)."""

    def __init__(self, *, balance: Money, gross: Money, locale: str = "en"):
        self.shortfall = gross - balance
        super().__init__(
            detail=(
                f"Your business funds hold {balance.format(locale)}; this basket costs "
                f"{gross.format(locale)}. Add {self.shortfall.format(locale)} to your business "
                "funds (for example by bank transfer), or pay by card."
            ),
            slug="insufficient-funds",
            title="Insufficient business funds",
            status=409,
        )

    @property
    def extensions(self) -> dict:
        return {"shortfall": self.shortfall.plain(), "currency": self.shortfall.currency}


class QuoteChanged(ApplicationError):
    """The basket costs something else now than when the customer was shown it."""

    def __init__(self, changes: list[str]):
        self.changes = changes
        super().__init__(
            detail="The basket changed since you saw it; nothing was paid. "
            + " ".join(changes)
            + " Check the basket and pay again.",
            slug="quote-changed",
            title="The basket changed",
            status=409,
        )

    @property
    def extensions(self) -> dict:
        return {"changes": self.changes}


class BasketEmpty(ApplicationError):
    def __init__(self):
        super().__init__(
            detail="The basket is empty: there is nothing to pay.",
            slug="basket-empty",
            title="The basket is empty",
            status=409,
        )


class BasketNotPayable(ApplicationError):
    """A line cannot be bought as it is (a lapsed hold, a product no longer sold)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(
            detail=" ".join(problems) + " Nothing was paid.",
            slug="basket-not-payable",
            title="The basket cannot be paid as it is",
            status=409,
        )
