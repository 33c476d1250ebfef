"""Reads for adding business funds by bank transfer, always scoped to one customer account."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import segno
import segno.helpers
from django.db.models import QuerySet
from stdnum import iban as stdnum_iban

from billtone.accounts.models import Account
from billtone.banktransfers.models import AccountReference, BankTransfer, OperatorBankAccount
from billtone.banktransfers.references import reference_format
from billtone.core.errors import NotFound
from billtone.core.money import Money
from billtone.ledger.selectors import account_locale  # the one definition, re-exported

PROCESSING_NOTE = (
    "Bank transfers usually take 2-3 business days to process. "
    "However in some cases it may take up to 7 days."
)

# Countries whose IBANs reach SEPA credit transfers (EPC's list of SEPA scheme countries):
# an EPC QR code ("GiroCode") is offered only for EUR to an IBAN of one of these.
# fmt: off
SEPA_COUNTRIES = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",  # EU
    "IS", "LI", "NO",  # EEA
    "CH", "GB", "MC", "SM", "VA", "AD", "GI", "GG", "JE", "IM", "AL", "MD", "ME", "MK",
})
# fmt: on
EPC_NAME_LIMIT = 70


def reference_display(reference: str) -> str:
    """The RF reference in groups of four, as people read and type it: RF18 5390 0754 7034."""
    return reference_format(reference)


def bank_transfer_list(*, account: Account) -> QuerySet[BankTransfer]:
    """The account's bank transfers, newest first."""
    return BankTransfer.objects.filter(account=account).order_by("-created_at", "-id")


def bank_transfer_get(*, account: Account, bank_transfer_id: int) -> BankTransfer:
    """One of the account's bank transfers; NotFound for another account's."""
    request = bank_transfer_list(account=account).filter(pk=bank_transfer_id).first()
    if request is None:
        raise NotFound("No such bank transfer in this account.")
    return request


def operator_bank_account_get(*, currency: str) -> OperatorBankAccount | None:
    return OperatorBankAccount.objects.filter(currency=currency).first()


@dataclass(frozen=True)
class BankDetails:
    account_holder: str
    iban: str  # compact
    iban_display: str  # in groups of four
    bic: str
    bank_name: str
    bank_address: str


@dataclass(frozen=True)
class BankTransferInstructions:
    """What the customer needs to make the transfer: shown, printed, emailed and in the API."""

    bank_transfer: BankTransfer
    reference: str  # compact: RF18539007547034
    reference_display: str  # RF18 5390 0754 7034
    amount: Money
    amount_display: str  # with Babel for the account's locale
    bank: BankDetails | None  # None only if the operator has since removed the account
    note: str
    qr_data_uri: str | None  # EPC QR code as an SVG data URI, for EUR to a SEPA IBAN
    created_at: datetime
    expires_at: datetime

    @property
    def status_display(self) -> str:
        return self.bank_transfer.get_status_display()


def bank_details(bank_account: OperatorBankAccount) -> BankDetails:
    return BankDetails(
        account_holder=bank_account.account_holder,
        iban=bank_account.iban,
        iban_display=stdnum_iban.format(bank_account.iban),
        bic=bank_account.bic,
        bank_name=bank_account.bank_name,
        bank_address=bank_account.bank_address,
    )


def epc_qr_code(*, bank: BankDetails, amount: Money, reference: str) -> segno.QRCode | None:
    """An EPC QR code ("GiroCode") that banking apps scan to fill in the transfer, or None
    where the standard does not apply (not EUR, or an IBAN outside SEPA)."""
    if amount.currency != "EUR" or bank.iban[:2] not in SEPA_COUNTRIES:
        return None
    return segno.helpers.make_epc_qr(
        name=bank.account_holder[:EPC_NAME_LIMIT],
        iban=bank.iban,
        amount=amount.amount,
        reference=reference,
        bic=bank.bic,
    )


def epc_qr_data_uri(*, bank: BankDetails, amount: Money, reference: str) -> str | None:
    qr = epc_qr_code(bank=bank, amount=amount, reference=reference)
    if qr is None:
        return None
    return qr.svg_data_uri(scale=4, border=2, title="EPC QR code for this bank transfer")


def bank_transfer_instructions(*, request: BankTransfer, locale: str) -> BankTransferInstructions:
    bank_account = operator_bank_account_get(currency=request.currency)
    bank = bank_details(bank_account) if bank_account is not None else None
    amount = Money(request.amount, request.currency).rounded()
    return BankTransferInstructions(
        bank_transfer=request,
        reference=request.reference,
        reference_display=reference_display(request.reference),
        amount=amount,
        amount_display=amount.format(locale),
        bank=bank,
        note=PROCESSING_NOTE,
        qr_data_uri=(
            epc_qr_data_uri(bank=bank, amount=amount, reference=request.reference)
            if bank is not None
            else None
        ),
        created_at=request.created_at,
        expires_at=request.expires_at,
    )


def bank_transfer_instructions_get(
    *, account: Account, bank_transfer_id: int
) -> BankTransferInstructions:
    request = bank_transfer_get(account=account, bank_transfer_id=bank_transfer_id)
    return bank_transfer_instructions(request=request, locale=account_locale(account=account))


def business_funds_balance(*, account: Account) -> Money:
    """The account's business funds from the ledger (zero before the first transfer)."""
    from billtone.ledger.models import LedgerKind
    from billtone.ledger.selectors import customer_balances

    for balance in customer_balances(account=account):
        if balance.kind == LedgerKind.BUSINESS_FUNDS:
            return balance.balance
    return Money.zero(account.billing_profile.currency)


@dataclass(frozen=True)
class AccountReferenceSummary:
    reference: str
    reference_display: str
    currency: str
    bank: BankDetails | None  # None where bank transfer is not available in the currency


def account_reference_summary(*, reference: AccountReference) -> AccountReferenceSummary:
    currency = reference.account.billing_profile.currency
    bank_account = operator_bank_account_get(currency=currency)
    return AccountReferenceSummary(
        reference=reference.reference,
        reference_display=reference_display(reference.reference),
        currency=currency,
        bank=bank_details(bank_account) if bank_account is not None else None,
    )


@dataclass(frozen=True)
class BusinessAccount:
    """The Business account section of Payment methods, and its card on the overview."""

    currency: str
    locale: str
    balance: Money
    bank: BankDetails | None  # None: bank transfer is not available in the currency
    reference: str | None  # the permanent reference, compact, where it was asked for
    awaiting_count: int

    @property
    def available(self) -> bool:
        return self.bank is not None

    @property
    def unavailable_message(self) -> str:
        return (
            f"Bank transfer is not available in {self.currency}: the operator has no bank "
            f"account for {self.currency}."
        )

    @property
    def balance_display(self) -> str:
        return self.balance.format(self.locale)

    @property
    def reference_display(self) -> str:
        return reference_display(self.reference) if self.reference else ""


def business_account_get(
    *, account: Account, reference: AccountReference | None = None
) -> BusinessAccount:
    currency = account.billing_profile.currency
    bank_account = operator_bank_account_get(currency=currency)
    return BusinessAccount(
        currency=currency,
        locale=account_locale(account=account),
        balance=business_funds_balance(account=account),
        bank=bank_details(bank_account) if bank_account is not None else None,
        reference=reference.reference if reference is not None else None,
        awaiting_count=bank_transfer_list(account=account)
        .filter(status=BankTransfer.Status.AWAITING_FUNDS)
        .count(),
    )


@dataclass(frozen=True)
class BankTransferRow:
    """One request in the pending transfers list, formatted for the account."""

    id: int
    reference_display: str
    amount_display: str
    received_amount_display: str  # empty until money arrived
    status: str
    status_display: str
    created_at: datetime


def bank_transfer_rows(*, requests: Iterable[BankTransfer], locale: str) -> list[BankTransferRow]:
    return [
        BankTransferRow(
            id=request.pk,
            reference_display=reference_display(request.reference),
            amount_display=Money(request.amount, request.currency).rounded().format(locale),
            received_amount_display=(
                ""
                if request.received_amount is None
                else Money(request.received_amount, request.currency).rounded().format(locale)
            ),
            status=request.status,
            status_display=request.get_status_display(),
            created_at=request.created_at,
        )
        for request in requests
    ]


def bank_transfers_awaiting(*, account: Account, currency: str) -> bool:
    """Whether the customer was told to send money in `currency` that has not arrived yet."""
    return BankTransfer.objects.filter(
        account=account, currency=currency, status=BankTransfer.Status.AWAITING_FUNDS
    ).exists()
