from ninja import Router, Status
from ninja.pagination import paginate

from billtone.banktransfers import selectors, services
from billtone.banktransfers.schemas import (
    AccountReferenceOut,
    BankTransferIn,
    BankTransferInstructionsOut,
    BankTransferOut,
)
from billtone.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from billtone.core.pagination import PagePagination
from billtone.core.schemas import Problem, RowId

router = Router(tags=["bank transfers"])

ERRORS = {401: Problem, 403: Problem}
WRITE_ERRORS = {**ERRORS, 409: Problem, 422: Problem}


@router.get("/bank-transfers/reference", response={200: AccountReferenceOut, **ERRORS})
def bank_transfer_reference_get(request):
    """The account's permanent reference: any transfer that carries it lands on the account's
    business funds, with or without a request."""
    return selectors.account_reference_summary(
        reference=services.account_reference_get_or_create(account=request.auth.account)
    )


@router.post("/bank-transfers", response={201: BankTransferInstructionsOut, **WRITE_ERRORS})
def bank_transfer_create(request, payload: BankTransferIn):
    """Ask to add business funds by bank transfer. The answer holds the instructions: the
    reference to quote, the amount and the operator's bank account; they are also emailed to
    the billing email. 422 when the amount is outside the limits or bank transfer is not
    available in the account's currency."""
    account = request.auth.account
    bank_transfer = services.bank_transfer_create(
        account=account,
        amount=payload.amount,
        actor=request.auth.actor,
        idempotency_key=request.headers.get(IDEMPOTENCY_HEADER),
    )
    return Status(
        201,
        selectors.bank_transfer_instructions_get(
            account=account, bank_transfer_id=bank_transfer.pk
        ),
    )


@router.get("/bank-transfers", response={200: list[BankTransferOut], **ERRORS})
@paginate(PagePagination)
def bank_transfer_list(request):
    """The account's bank transfers, newest first."""
    return selectors.bank_transfer_list(account=request.auth.account)


@router.get(
    "/bank-transfers/{transfer_id}",
    response={200: BankTransferInstructionsOut, 404: Problem, **ERRORS},
)
def bank_transfer_get(request, transfer_id: RowId):
    """One bank transfer with its instructions."""
    return selectors.bank_transfer_instructions_get(
        account=request.auth.account, bank_transfer_id=transfer_id
    )
