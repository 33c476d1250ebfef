from django.http import HttpResponse
from ninja import Router
from ninja.pagination import paginate

from billtone.core.pagination import PagePagination
from billtone.core.schemas import Problem, RowId
from billtone.invoicing import selectors
from billtone.invoicing.schemas import CreditNoteOut, InvoiceDetailOut, InvoiceOut

router = Router(tags=["invoices"])

ERRORS = {401: Problem, 403: Problem}


@router.get("/invoices", response={200: list[InvoiceOut], **ERRORS})
@paginate(PagePagination)
def invoice_list(request):
    """The account's invoices, newest first."""
    return selectors.invoice_list(account=request.auth.account)


@router.get("/invoices/{invoice_id}", response={200: InvoiceDetailOut, 404: Problem, **ERRORS})
def invoice_get(request, invoice_id: RowId):
    """One invoice with both parties as they were at issue, its lines and its tax per rate."""
    return selectors.invoice_get(account=request.auth.account, invoice_id=invoice_id)


@router.get(
    "/invoices/{invoice_id}/pdf",
    response={200: None, 404: Problem, 409: Problem, **ERRORS},
    openapi_extra={
        "responses": {
            200: {
                "description": "The invoice as PDF/A-3 with its EN 16931 XML (Factur-X) embedded",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def invoice_pdf(request, invoice_id: RowId):
    """The invoice's PDF; 409 invoice-pdf-not-ready for the moment after issue while it is made."""
    filename, content = selectors.invoice_pdf_get(
        account=request.auth.account, invoice_id=invoice_id
    )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@router.get("/credit-notes", response={200: list[CreditNoteOut], **ERRORS})
@paginate(PagePagination)
def credit_note_list(request):
    """The account's credit notes, newest first, each naming the invoice it corrects."""
    return selectors.credit_note_list(account=request.auth.account)


@router.get(
    "/credit-notes/{credit_note_id}/pdf",
    response={200: None, 404: Problem, 409: Problem, **ERRORS},
    openapi_extra={
        "responses": {
            200: {
                "description": "The credit note as PDF/A-3 with its EN 16931 XML (Factur-X, "
                "type 381) embedded",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def credit_note_pdf(request, credit_note_id: RowId):
    """The credit note's PDF; 409 credit-note-pdf-not-ready for a moment after issue."""
    filename, content = selectors.credit_note_pdf_get(
        account=request.auth.account, credit_note_id=credit_note_id
    )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
