from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema

from billtone.core.pagination import MAX_PAGE, MAX_PAGE_SIZE
from billtone.core.schemas import IsoDate

CustomerLedgerKind = Literal["business_funds", "call_credit"]


class StatementQuery(Schema):
    date_from: IsoDate | None = Field(
        None, alias="from", description="first day; default: the 1st of the month of `to`"
    )
    date_to: IsoDate | None = Field(
        None, alias="to", description="last day, included; default: today"
    )
    page: int = Field(1, ge=1, le=MAX_PAGE, description="from 1 to the last page")
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class MoneyOut(Schema):
    amount: str = Field(description="decimal string, at least to the currency's minor unit")
    currency: str = Field(description="ISO 4217")


def money_out(money) -> dict:
    return {"amount": money.plain(), "currency": money.currency}


class BalanceOut(Schema):
    kind: CustomerLedgerKind
    label: str
    balance: MoneyOut
    credit_limit: MoneyOut = Field(description="how far below zero the balance may go")
    available: MoneyOut = Field(description="balance plus credit limit: what may be spent")
    formatted: str = Field(description="the balance for people, in the account's locale")

    @staticmethod
    def resolve_balance(obj) -> dict:
        return money_out(obj.balance)

    @staticmethod
    def resolve_credit_limit(obj) -> dict:
        return money_out(obj.credit_limit)

    @staticmethod
    def resolve_available(obj) -> dict:
        return money_out(obj.available)


class BalancesOut(Schema):
    currency: str
    business_funds: BalanceOut
    call_credit: BalanceOut


class StatementLineOut(Schema):
    transaction_id: int
    date: datetime = Field(description="when it was posted, in the account's time zone")
    kind: str = Field(description="what moved the money: card_payment, card_refund, bank_transfer…")
    description: str = Field(
        description="for a person: 'Card payment, Visa •••• 4242', 'Bank transfer RF18 5390 …'"
    )
    reference: str = Field(
        description="the reference the customer paid with (a bank transfer's RF reference, "
        "without spaces); empty for other lines"
    )
    amount: str = Field(description="signed: positive is money in")
    running_balance: str

    @staticmethod
    def resolve_date(obj) -> datetime:
        return obj.posted_at

    @staticmethod
    def resolve_amount(obj) -> str:
        return obj.amount.plain()

    @staticmethod
    def resolve_running_balance(obj) -> str:
        return obj.running_balance.plain()


class StatementOut(Schema):
    kind: CustomerLedgerKind
    currency: str
    timezone: str
    date_from: date = Field(serialization_alias="from")
    date_to: date = Field(serialization_alias="to")
    opening_balance: str
    closing_balance: str
    items: list[StatementLineOut] = Field(description="oldest first")
    count: int
    page: int
    page_size: int
    has_next: bool

    @staticmethod
    def resolve_items(obj) -> list:
        return obj.lines

    @staticmethod
    def resolve_opening_balance(obj) -> str:
        return obj.opening_balance.plain()

    @staticmethod
    def resolve_closing_balance(obj) -> str:
        return obj.closing_balance.plain()
