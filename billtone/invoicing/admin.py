"""The operator's read-only view of invoices (issued by checkout, never edited: credit notes
correct them) and subscriptions; the PDF downloads from the invoice's page, and one that
failed is made again by an action."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from billtone.core.admin import BoundedDateHierarchy, ReadOnlyAdmin
from billtone.core.errors import ApplicationError, ValidationFailed
from billtone.core.services import Actor
from billtone.invoicing.forms import CreditForm
from billtone.invoicing.models import (
    CreditNote,
    CreditNoteLine,
    CreditNoteTax,
    Invoice,
    InvoiceLine,
    InvoiceTax,
    Subscription,
)
from billtone.invoicing.services import (
    credit_note_issue,
    credit_note_pdf_render,
    credit_note_refund,
    invoice_pdf_render,
)

CREDIT_PERMISSION = "invoicing.add_creditnote"


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class InvoiceLineInline(_ReadOnlyInline):
    model = InvoiceLine
    fields = [
        "position",
        "description",
        "kind",
        "billing",
        "quantity",
        "unit_price",
        "tax_rate",
        "net",
        "period_start",
        "period_end",
    ]
    readonly_fields = fields


class InvoiceTaxInline(_ReadOnlyInline):
    model = InvoiceTax
    fields = ["rate", "taxable", "tax"]
    readonly_fields = fields


class InvoiceCreditNoteInline(_ReadOnlyInline):
    model = CreditNote
    fields = ["number_link", "issued_at", "gross", "refund_to", "refund_status", "reason"]
    readonly_fields = fields
    verbose_name_plural = "Credit notes"

    def get_queryset(self, request):
        return super().get_queryset(request).defer("pdf")

    @admin.display(description="Number")
    def number_link(self, obj: CreditNote) -> str:
        url = reverse("admin:invoicing_creditnote_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.number)


@admin.register(Invoice)
class InvoiceAdmin(BoundedDateHierarchy, ReadOnlyAdmin):
    list_display = [
        "number",
        "account",
        "issued_at",
        "currency",
        "net",
        "tax",
        "gross",
        "reverse_charge",
        "status",
        "credited",
        "pdf_status",
    ]
    list_filter = ["pdf_status", "reverse_charge", "currency", "status"]
    search_fields = ["number", "account__name", "source_key"]
    list_select_related = ["account"]
    date_hierarchy = "issued_at"
    inlines = [InvoiceLineInline, InvoiceTaxInline, InvoiceCreditNoteInline]
    actions = ["render_pdf"]
    fields = [
        "number",
        "status",
        "credited",
        "credit_link",
        "account",
        "issued_at",
        "issue_date",
        "currency",
        "net",
        "tax",
        "gross",
        "reverse_charge",
        "tax_mention",
        "customer",
        "operator",
        "ledger_transaction",
        "source_key",
        "created_by",
        "pdf_link",
        "pdf_status",
        "pdf_error",
        "pdf_rendered_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("pdf")

    @admin.display(description="PDF")
    def pdf_link(self, obj: Invoice) -> str:
        if obj.pdf_status != Invoice.PdfStatus.READY:
            return obj.get_pdf_status_display()
        url = reverse("admin:invoicing_invoice_pdf", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.pdf_filename)

    @admin.display(description="Credit")
    def credit_link(self, obj: Invoice) -> str:
        if obj.credited >= obj.gross:
            return "Credited in full"
        url = reverse("admin:invoicing_invoice_credit", args=[obj.pk])
        return format_html('<a class="button" href="{}" id="credit-invoice">Credit…</a>', url)

    def get_urls(self):
        pdf = self.admin_site.admin_view(self.pdf_view)
        credit = self.admin_site.admin_view(self.credit_view)
        return [
            path("<id:invoice_id>/pdf/", pdf, name="invoicing_invoice_pdf"),
            path("<id:invoice_id>/credit/", credit, name="invoicing_invoice_credit"),
            *super().get_urls(),
        ]

    def credit_view(self, request, invoice_id: int):
        """Credit the invoice in full or in part; refusals shown on the form, nothing done."""
        if not request.user.has_perm(CREDIT_PERMISSION):
            raise PermissionDenied
        invoice = Invoice.objects.defer("pdf").filter(pk=invoice_id).first()
        if invoice is None:
            raise Http404
        form = CreditForm(request.POST or None, invoice=invoice)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                note = credit_note_issue(
                    invoice_id=invoice.pk,
                    lines=data["lines"],
                    reason=data["reason"],
                    refund_to=data["refund_to"],
                    actor=Actor(label=request.user.get_username(), user_id=request.user.pk),
                    idempotency_key=data["idempotency_key"],
                )
            except ValidationFailed as error:
                for field, texts in error.errors.items():
                    for text in texts:
                        form.add_error(field if field in form.fields else None, text)
            except ApplicationError as error:
                form.add_error(None, error.detail)
            else:
                self.message_user(
                    request,
                    f"{note.number} issued: {note.gross} {note.currency} credited.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:invoicing_invoice_change", args=[invoice.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Credit {invoice.number}",
            "opts": self.model._meta,
            "invoice": invoice,
            "form": form,
        }
        return TemplateResponse(request, "admin/invoicing/invoice/credit.html", context)

    def pdf_view(self, request, invoice_id: int):
        if not self.has_view_permission(request):
            raise Http404
        invoice = Invoice.objects.filter(pk=invoice_id, pdf_status=Invoice.PdfStatus.READY).first()
        if invoice is None:
            raise Http404
        response = HttpResponse(bytes(invoice.pdf), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{invoice.pdf_filename}"'
        return response

    @admin.action(description="Make the PDF of the selected invoices again where it failed")
    def render_pdf(self, request, queryset):
        made = 0
        for invoice_id in queryset.exclude(pdf_status=Invoice.PdfStatus.READY).values_list(
            "pk", flat=True
        ):
            made += invoice_pdf_render(invoice_id=invoice_id).pdf_status == Invoice.PdfStatus.READY
        self.message_user(request, f"{made} PDF(s) made.", messages.SUCCESS)


class CreditNoteLineInline(_ReadOnlyInline):
    model = CreditNoteLine
    fields = ["position", "description", "quantity", "unit_price", "tax_rate", "net"]
    readonly_fields = fields


class CreditNoteTaxInline(_ReadOnlyInline):
    model = CreditNoteTax
    fields = ["rate", "taxable", "tax"]
    readonly_fields = fields


@admin.register(CreditNote)
class CreditNoteAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "invoice",
        "account",
        "issued_at",
        "gross",
        "currency",
        "refund_to",
        "refund_status",
        "pdf_status",
    ]
    list_filter = ["refund_to", "refund_status", "pdf_status", "currency"]
    search_fields = ["number", "invoice__number", "account__name", "reason"]
    list_select_related = ["account", "invoice"]
    inlines = [CreditNoteLineInline, CreditNoteTaxInline]
    actions = ["render_pdf", "settle_refund"]
    readonly_fields = fields = [
        "number",
        "invoice",
        "account",
        "issued_at",
        "issue_date",
        "currency",
        "net",
        "tax",
        "gross",
        "reason",
        "refund_to",
        "refund_status",
        "refund_error",
        "refund_payment",
        "ledger_transaction",
        "idempotency_key",
        "created_by",
        "pdf_link",
        "pdf_status",
        "pdf_error",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("pdf")

    @admin.display(description="PDF")
    def pdf_link(self, obj: CreditNote) -> str:
        if obj.pdf_status != CreditNote.PdfStatus.READY:
            return obj.get_pdf_status_display()
        url = reverse("admin:invoicing_creditnote_pdf", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.pdf_filename)

    def get_urls(self):
        pdf = self.admin_site.admin_view(self.pdf_view)
        return [
            path("<id:note_id>/pdf/", pdf, name="invoicing_creditnote_pdf"),
            *super().get_urls(),
        ]

    def pdf_view(self, request, note_id: int):
        if not self.has_view_permission(request):
            raise Http404
        note = CreditNote.objects.filter(pk=note_id, pdf_status=CreditNote.PdfStatus.READY).first()
        if note is None:
            raise Http404
        response = HttpResponse(bytes(note.pdf), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{note.pdf_filename}"'
        return response

    @admin.action(description="Make the PDF of the selected credit notes again where it failed")
    def render_pdf(self, request, queryset):
        made = 0
        for note_id in queryset.exclude(pdf_status=CreditNote.PdfStatus.READY).values_list(
            "pk", flat=True
        ):
            note = credit_note_pdf_render(credit_note_id=note_id)
            made += note.pdf_status == CreditNote.PdfStatus.READY
        self.message_user(request, f"{made} PDF(s) made.", messages.SUCCESS)

    @admin.action(description="Ask again for the card refunds still pending")
    def settle_refund(self, request, queryset):
        for note_id in queryset.filter(refund_status="pending").values_list("pk", flat=True):
            credit_note_refund(credit_note_id=note_id)
        self.message_user(request, "Card refunds asked for again.", messages.SUCCESS)


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = [
        "description",
        "account",
        "item_kind",
        "item_id",
        "unit_price",
        "currency",
        "started_on",
        "paid_through",
        "status",
        "invoice",
    ]
    list_filter = ["status", "item_kind", "currency"]
    search_fields = ["description", "account__name"]
    list_select_related = ["account", "invoice"]
