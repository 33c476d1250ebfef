from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from billtone.accounts.decorators import billing_required
from billtone.core.errors import Conflict, NotFound
from billtone.core.money import Money, locale_for
from billtone.core.pagination import MAX_PAGE, page_check
from billtone.invoicing import selectors
from billtone.invoicing.models import Invoice

PAGE_SIZE = 50


def _page(request) -> int:
    try:
        return min(max(int(request.GET.get("page", "1")), 1), MAX_PAGE)
    except ValueError:
        return 1


@billing_required
def invoices(request):
    """The account's invoices, newest first, each with its PDF; the list refreshes itself
    while a PDF is being made (HTMX)."""
    account = request.account
    locale = locale_for(language=settings.LANGUAGE_CODE, country=account.billing_profile.country)
    found = selectors.invoice_list(account=account)
    count = found.count()
    page = _page(request)
    try:
        page_check(page=page, page_size=PAGE_SIZE, count=count)
    except Exception:
        page = 1
    offset = (page - 1) * PAGE_SIZE
    invoices_shown = list(found[offset : offset + PAGE_SIZE])
    notes_of = selectors.credit_notes_by_invoice(
        account=account, invoice_ids=[invoice.pk for invoice in invoices_shown]
    )
    rows = [
        {
            "invoice": invoice,
            "gross": Money(invoice.gross, invoice.currency).format(locale),
            "credited": Money(invoice.credited, invoice.currency).format(locale)
            if invoice.credited
            else "",
            "credit_notes": notes_of.get(invoice.pk, []),
        }
        for invoice in invoices_shown
    ]
    credit_notes = [
        {"note": note, "gross": Money(note.gross, note.currency).format(locale)}
        for note in selectors.credit_note_list(account=account)[:PAGE_SIZE]
    ]
    context = {
        "rows": rows,
        "credit_notes": credit_notes,
        "page": page,
        "has_next": offset + len(rows) < count,
        "pending": any(row["invoice"].pdf_status == Invoice.PdfStatus.PENDING for row in rows)
        or any(row["note"].pdf_status == Invoice.PdfStatus.PENDING for row in credit_notes),
    }
    template = "invoicing/_list.html" if request.htmx else "invoicing/invoices.html"
    return render(request, template, context)


@billing_required
def invoice_download(request, invoice_id: int):
    try:
        filename, content = selectors.invoice_pdf_get(
            account=request.account, invoice_id=invoice_id
        )
    except NotFound:
        raise Http404 from None
    except Conflict as not_ready:
        messages.info(request, not_ready.detail)
        return redirect("invoicing:invoices")
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@billing_required
def credit_note_download(request, credit_note_id: int):
    try:
        filename, content = selectors.credit_note_pdf_get(
            account=request.account, credit_note_id=credit_note_id
        )
    except NotFound:
        raise Http404 from None
    except Conflict as not_ready:
        messages.info(request, not_ready.detail)
        return redirect("invoicing:invoices")
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
