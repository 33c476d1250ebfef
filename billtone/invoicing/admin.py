"""The operator's read-only view of invoices (issued by checkout, never edited: credit notes
correct them) and subscriptions; the PDF downloads from the invoice's page, and one that
failed is made again by an action."""

from django.contrib import admin, messages
from django.http import Http404, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from billtone.core.admin import BoundedDateHierarchy, ReadOnlyAdmin
from billtone.invoicing.models import Invoice, InvoiceLine, InvoiceTax, Subscription
from billtone.invoicing.services import invoice_pdf_render


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
        "pdf_status",
    ]
    list_filter = ["pdf_status", "reverse_charge", "currency"]
    search_fields = ["number", "account__name", "source_key"]
    list_select_related = ["account"]
    date_hierarchy = "issued_at"
    inlines = [InvoiceLineInline, InvoiceTaxInline]
    actions = ["render_pdf"]
    fields = [
        "number",
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

    def get_urls(self):
        pdf = self.admin_site.admin_view(self.pdf_view)
        return [
            path("<int:invoice_id>/pdf/", pdf, name="invoicing_invoice_pdf"),
            *super().get_urls(),
        ]

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
