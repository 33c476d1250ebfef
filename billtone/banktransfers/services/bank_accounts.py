"""The operator's bank accounts, one per currency: where customers send bank transfers."""

from dataclasses import dataclass

from django.db import transaction
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumError

from billtone.banktransfers.models import OperatorBankAccount
from billtone.core.errors import ApplicationError, ValidationFailed
from billtone.core.services import Actor, audit_record, changes_between


@dataclass(frozen=True)
class BankAccountInput:
    currency: str
    account_holder: str
    iban: str
    bic: str
    bank_name: str
    bank_address: str = ""


def bank_account_clean(data: BankAccountInput) -> dict[str, str]:
    errors: dict[str, list[str]] = {}
    values = {k: (v or "").strip() for k, v in data.__dict__.items()}
    values["currency"] = values["currency"].upper()
    if len(values["currency"]) != 3 or not values["currency"].isalpha():
        errors["currency"] = ["Enter an ISO 4217 currency code such as EUR."]
    try:
        values["iban"] = stdnum_iban.validate(values["iban"])
    except StdnumError as error:
        errors["iban"] = [f"Not a valid IBAN: {error.message}"]
    try:
        values["bic"] = stdnum_bic.validate(values["bic"])
    except StdnumError as error:
        errors["bic"] = [f"Not a valid BIC: {error.message}"]
    for name in ("account_holder", "bank_name"):
        if not values[name]:
            errors[name] = ["This field is required."]
    if errors:
        raise ValidationFailed(errors)
    return values


@transaction.atomic
def bank_account_save(*, data: BankAccountInput, actor: Actor) -> OperatorBankAccount:
    """The operator's bank account for `data.currency`, made or changed, and audited: where
    customers send their money is the last thing to change unseen."""
    values = bank_account_clean(data)
    account = (
        OperatorBankAccount.objects.select_for_update().filter(currency=values["currency"]).first()
    )
    if account is None:
        account, action, before = OperatorBankAccount(), "bank_account.create", {}
    else:
        action = "bank_account.update"
        before = {name: getattr(account, name) for name in values}
    changes = changes_between(before, values)
    if not changes:
        return account
    for name, value in values.items():
        setattr(account, name, value)
    account.save()
    audit_record(actor=actor, action=action, obj=account, changes=changes)
    return account


class BankTransferUnavailable(ApplicationError):
    def __init__(self, currency: str):
        super().__init__(
            detail=(
                f"Bank transfer is not available in {currency}: the operator has no bank "
                f"account for {currency}. Please pay by card or contact the operator."
            ),
            slug="bank-transfer-unavailable",
            title="Bank transfer not available",
            status=422,
        )


def operator_bank_account_for(*, currency: str) -> OperatorBankAccount:
    bank_account = OperatorBankAccount.objects.filter(currency=currency).first()
    if bank_account is None:
        raise BankTransferUnavailable(currency)
    return bank_account
