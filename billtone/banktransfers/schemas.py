from datetime import datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema

from billtone.banktransfers.models import BankTransfer
from billtone.core.money import Money
from billtone.core.schemas import AMOUNT_NOTATION, AmountIn

TransferStatus = Literal["awaiting_funds", "received", "received_different_amount", "expired"]


def _request(obj) -> BankTransfer:
    return getattr(obj, "bank_transfer", obj)


def _plain(amount: Decimal | None, currency: str) -> str | None:
    return None if amount is None else Money(amount, currency).rounded().plain()


class BankTransferIn(Schema):
    amount: AmountIn = Field(
        description=(
            f"A {AMOUNT_NOTATION}, in the account's billing currency, within the operator's "
            "limits and with no more decimals than the currency's minor unit (2 for EUR)"
        ),
        examples=["250.00"],
    )


class BankDetailsOut(Schema):
    account_holder: str
    iban: str = Field(description="compact, no spaces")
    bic: str
    bank_name: str
    bank_address: str


class BankTransferOut(Schema):
    """A bank transfer in a list: what was asked for, and what happened to it."""

    id: int
    reference: str = Field(description="ISO 11649 creditor reference, compact: RF18539007547034")
    reference_display: str = Field(description="in groups of four: RF18 5390 0754 7034")
    amount: str = Field(description="decimal string, to the currency's minor unit")
    currency: str = Field(description="ISO 4217, the account's billing currency")
    status: TransferStatus
    status_display: str
    received_amount: str | None = Field(description="what arrived, once it has")
    received_at: datetime | None
    created_by: str
    created_at: datetime
    expires_at: datetime = Field(
        description="marked expired after this if nothing arrived; money that arrives later "
        "still lands"
    )

    # Resolved from a BankTransfer (lists) or from BankTransferInstructions (one transfer).
    @staticmethod
    def resolve_id(obj) -> int:
        return _request(obj).pk

    @staticmethod
    def resolve_reference(obj) -> str:
        return _request(obj).reference

    @staticmethod
    def resolve_reference_display(obj) -> str:
        from billtone.banktransfers.selectors import reference_display

        return reference_display(_request(obj).reference)

    @staticmethod
    def resolve_amount(obj) -> str:
        request = _request(obj)
        return _plain(request.amount, request.currency)

    @staticmethod
    def resolve_currency(obj) -> str:
        return _request(obj).currency

    @staticmethod
    def resolve_status(obj) -> str:
        return _request(obj).status

    @staticmethod
    def resolve_status_display(obj) -> str:
        return _request(obj).get_status_display()

    @staticmethod
    def resolve_received_amount(obj) -> str | None:
        request = _request(obj)
        return _plain(request.received_amount, request.currency)

    @staticmethod
    def resolve_received_at(obj) -> datetime | None:
        return _request(obj).received_at

    @staticmethod
    def resolve_created_by(obj) -> str:
        return _request(obj).created_by_label

    @staticmethod
    def resolve_created_at(obj) -> datetime:
        return _request(obj).created_at

    @staticmethod
    def resolve_expires_at(obj) -> datetime:
        return _request(obj).expires_at


class BankTransferInstructionsOut(BankTransferOut):
    """A bank transfer with everything needed to make the transfer."""

    amount_display: str = Field(description="the amount for people, in the account's locale")
    bank: BankDetailsOut | None = Field(
        description="the operator's bank account for the currency; null if since removed"
    )
    note: str
    qr_code: str | None = Field(
        description="EPC QR code (GiroCode) as an SVG data URI, for EUR to a SEPA IBAN; "
        "banking apps scan it to fill in the transfer"
    )

    @staticmethod
    def resolve_qr_code(obj) -> str | None:
        return obj.qr_data_uri


class AccountReferenceOut(Schema):
    reference: str = Field(description="the account's permanent ISO 11649 reference, compact")
    reference_display: str = Field(description="in groups of four")
    currency: str = Field(description="the account's billing currency")
    bank: BankDetailsOut | None = Field(
        description="where to send transfers in that currency; null if bank transfer is not "
        "available in it"
    )
