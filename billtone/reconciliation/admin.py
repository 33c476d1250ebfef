from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from billtone.core.admin import BoundedDateHierarchy, ReadOnlyAdmin
from billtone.core.errors import ApplicationError
from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.reconciliation.forms import (
    EntryAllocateForm,
    EntryReturnForm,
    StatementUploadForm,
)
from billtone.reconciliation.models import BankEntry, StatementImport, StatementUpload
from billtone.reconciliation.selectors import funds_emails_progress
from billtone.reconciliation.services.review import bank_entry_allocate, bank_entry_return
from billtone.reconciliation.services.uploads import statement_upload_create


def _staff(request) -> Actor:
    return Actor(label=request.user.get_username(), user_id=request.user.pk)


def _form_errors(form, error: ApplicationError, default_field: str | None = None) -> None:
    """Put a service's error on the form: its fields where they exist, else the whole form."""
    placed = False
    for name, texts in (error.errors or {}).items():
        field = name if name in form.fields else default_field
        for message in texts:
            form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(default_field, error.detail)


@admin.register(StatementImport)
class StatementImportAdmin(ReadOnlyAdmin):
    change_form_template = "admin/reconciliation/statementimport/change_form.html"
    list_display = [
        "file_name",
        "started_at",
        "status",
        "format",
        "credits",
        "matched",
        "to_review",
        "duplicates_skipped",
        "debits_ignored",
        "totals",
        "imported_by_label",
    ]
    list_filter = ["status", "format"]
    search_fields = ["file_name", "sha256", "account_iban", "statement_ids"]
    fields = [
        "summary",
        "file_name",
        "sha256",
        "format",
        "account_iban",
        "statement_ids",
        "imported_by_label",
        "started_at",
        "finished_at",
        "funds_emails_queued_at",
        "funds_emails",
        "status",
        "error",
        "problems",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return self.has_view_permission(request) and request.user.has_perm(
            "reconciliation.add_statementimport"
        )

    @admin.display(description="Matched amount")
    def totals(self, obj):
        return ", ".join(f"{amount} {currency}" for currency, amount in obj.matched_totals.items())

    @admin.display(description="Funds received emails")
    def funds_emails(self, obj):
        if obj.status != StatementImport.Status.DONE or not obj.matched:
            return "None to send."
        return mark_safe(self._funds_emails_html(obj))  # noqa: S308 (a template's output)

    def _funds_emails_html(self, obj) -> str:
        return render_to_string(
            "admin/reconciliation/statementimport/_funds_emails.html",
            {
                "progress": funds_emails_progress(statement_import=obj),
                "url": reverse("admin:reconciliation_statementimport_emails", args=[obj.pk]),
                "failed_url": reverse("admin:notifications_emaildelivery_changelist")
                + "?status__exact=failed&q=funds-received",
            },
        )

    def emails_view(self, request, import_id: int):
        """The emails' counts alone, for the page to poll."""
        obj = StatementImport.objects.filter(pk=import_id).first()
        if obj is None or not self.has_view_permission(request, obj):
            raise Http404("No such import.")
        return HttpResponse(self._funds_emails_html(obj))

    @admin.display(description="Warnings")
    def problems(self, obj):
        if not obj.warnings:
            return "—"
        return format_html_join("", "<p>{}</p>", ((w,) for w in obj.warnings))

    @admin.display(description="Summary")
    def summary(self, obj):
        review = reverse("admin:reconciliation_bankentry_changelist") + (
            f"?status=review&statement_import__id__exact={obj.pk}"
        )
        rows = [
            ("Credit entries", obj.credits),
            ("Matched and credited", obj.matched),
            ("Amount credited", self.totals(obj) or "—"),
            ("To review", obj.to_review),
            ("Imported before (skipped)", obj.duplicates_skipped),
            ("Debits (ignored)", obj.debits_ignored),
            ("Not booked (ignored)", obj.not_booked_ignored),
        ]
        table = format_html_join(
            "",
            "<tr><th>{}</th><td id='summary-{}'>{}</td></tr>",
            ((k, n, v) for n, (k, v) in enumerate(rows)),
        )
        return format_html(
            "<table class='statement-summary'>{}</table><p><a href='{}' id='review-link'>"
            "{} of this import to review</a></p>",
            table,
            review,
            f"{obj.to_review} entry" if obj.to_review == 1 else f"{obj.to_review} entries",
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("upload/", wrap(self.upload_view), name="reconciliation_statementimport_upload"),
            path(
                "upload/<int:upload_id>/",
                wrap(self.upload_status_view),
                name="reconciliation_statementimport_upload_status",
            ),
            path(
                "upload/<int:upload_id>/progress/",
                wrap(self.upload_progress_view),
                name="reconciliation_statementimport_upload_progress",
            ),
            path(
                "<int:import_id>/emails/",
                wrap(self.emails_view),
                name="reconciliation_statementimport_emails",
            ),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:reconciliation_statementimport_upload"))

    def upload_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = StatementUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                upload = statement_upload_create(
                    file=form.cleaned_data["file"],
                    format=form.cleaned_data["format"],
                    csv_columns=form.cleaned_data["csv_columns"],
                    actor=_staff(request),
                )
            except ApplicationError as error:
                _form_errors(form, error, default_field="file")
            else:
                return HttpResponseRedirect(
                    reverse("admin:reconciliation_statementimport_upload_status", args=[upload.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a bank statement",
            "opts": self.model._meta,
            "form": form,
            "recent": StatementImport.objects.all()[:5],
            "uploads": StatementUpload.objects.all()[:5],
        }
        return TemplateResponse(
            request, "admin/reconciliation/statementimport/upload.html", context
        )

    def _upload(self, request, upload_id: int) -> StatementUpload:
        if not self.has_add_permission(request):
            raise PermissionDenied
        upload = StatementUpload.objects.select_related("statement_import").filter(pk=upload_id)
        found = upload.first()
        if found is None:
            raise Http404("No such upload.")
        return found

    def _upload_context(self, upload: StatementUpload) -> dict:
        return {
            "upload": upload,
            "finished": upload.status
            in (StatementUpload.Status.DONE, StatementUpload.Status.FAILED),
            "progress_url": reverse(
                "admin:reconciliation_statementimport_upload_progress", args=[upload.pk]
            ),
        }

    def upload_status_view(self, request, upload_id: int):
        """An upload's page: its import's progress, live, then its result or its error."""
        upload = self._upload(request, upload_id)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Importing {upload.file_name}",
            "opts": self.model._meta,
            **self._upload_context(upload),
        }
        return TemplateResponse(
            request, "admin/reconciliation/statementimport/upload_status.html", context
        )

    def upload_progress_view(self, request, upload_id: int):
        upload = self._upload(request, upload_id)
        return TemplateResponse(
            request,
            "admin/reconciliation/statementimport/_upload_progress.html",
            self._upload_context(upload),
        )


class BankEntryStatusFilter(admin.SimpleListFilter):
    """The review queue first: entries to review unless another status is asked for."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [*BankEntry.Status.choices, ("all", "All")]

    def choices(self, changelist):
        value = self.value() or BankEntry.Status.REVIEW
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or BankEntry.Status.REVIEW
        if value == "all":
            return queryset
        return queryset.filter(status=value)


@admin.register(BankEntry)
class BankEntryAdmin(BoundedDateHierarchy, ReadOnlyAdmin):
    change_form_template = "admin/reconciliation/bankentry/change_form.html"
    list_display = [
        "booking_date",
        "amount_display",
        "payer_name",
        "remittance",
        "review_reason",
        "suggestion",
        "status",
        "account",
    ]
    list_filter = [BankEntryStatusFilter, "review_reason", "currency", "statement_import"]
    list_select_related = ["account", "suggested_account", "statement_import"]
    search_fields = [
        "payer_name",
        "payer_iban",
        "reference",
        "structured_reference",
        "free_text",
        "bank_reference",
        "=identity",
    ]
    date_hierarchy = "booking_date"
    fields = [
        "status",
        "review_reason",
        "amount_display",
        "booking_date",
        "value_date",
        "payer_name",
        "payer_iban",
        "structured_reference",
        "free_text",
        "end_to_end_id",
        "bank_reference",
        "reference",
        "suggested_account",
        "suggested_funding_request",
        "suggestion_reason",
        "account",
        "funding_request",
        "ledger_transaction",
        "decided_by_label",
        "decided_at",
        "decision_note",
        "statement_import",
        "position",
        "identity",
        "created_at",
    ]
    readonly_fields = fields

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj):
        return f"{Money(obj.amount, obj.currency).rounded().plain()} {obj.currency}"

    @admin.display(description="Reference / text")
    def remittance(self, obj):
        text = " ".join(t for t in (obj.structured_reference, obj.free_text) if t)
        return text if len(text) <= 50 else text[:49] + "…"

    @admin.display(description="Suggestion")
    def suggestion(self, obj):
        if obj.suggested_account_id is None:
            return "—"
        return format_html(
            "<span title='{}'>{}</span>", obj.suggestion_reason, obj.suggested_account.name
        )

    def _queue(self, request) -> bool:
        status = request.GET.get(BankEntryStatusFilter.parameter_name) or BankEntry.Status.REVIEW
        return status == BankEntry.Status.REVIEW

    def get_list_display(self, request):
        if self._queue(request):  # all in review, none credited yet
            return [c for c in self.list_display if c not in ("status", "account")]
        return [c for c in self.list_display if c != "suggestion"]

    def changelist_view(self, request, extra_context=None):
        title = "Bank entries to review" if self._queue(request) else "Bank entries"
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:entry_id>/allocate/",
                wrap(self.allocate_view),
                name="reconciliation_bankentry_allocate",
            ),
            path(
                "<int:entry_id>/return/",
                wrap(self.return_view),
                name="reconciliation_bankentry_return",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        context["can_decide"] = (
            obj is not None and obj.status == BankEntry.Status.REVIEW and self._may_decide(request)
        )
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def _may_decide(self, request) -> bool:
        return request.user.has_perm("reconciliation.change_bankentry")

    def _entry(self, request, entry_id: int) -> BankEntry:
        if not self._may_decide(request):
            raise PermissionDenied
        entry = BankEntry.objects.select_related("suggested_account").filter(pk=entry_id).first()
        if entry is None:
            raise Http404("No such bank entry.")
        return entry

    def _decision_page(self, request, entry, form, title, template):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "original": entry,
            "entry": entry,
            "amount": self.amount_display(entry),
            "form": form,
        }
        return TemplateResponse(request, template, context)

    def _done(self, request, message: str):
        self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:reconciliation_bankentry_changelist"))

    def allocate_view(self, request, entry_id: int):
        entry = self._entry(request, entry_id)
        form = EntryAllocateForm(
            request.POST or None,
            entry=entry,
            initial={
                "account": entry.suggested_account_id,
                "funding_request": entry.suggested_funding_request_id,
            },
        )
        if request.method == "POST" and form.is_valid():
            try:
                allocated = bank_entry_allocate(
                    entry_id=entry.pk,
                    account=form.cleaned_data["account"],
                    funding_request=form.cleaned_data["funding_request"],
                    note=form.cleaned_data["note"],
                    actor=_staff(request),
                )
            except ApplicationError as error:
                _form_errors(form, error)
            else:
                return self._done(
                    request,
                    f"{self.amount_display(allocated)} from {allocated.payer_name or 'the payer'} "
                    f"credited to {allocated.account.name}'s business funds.",
                )
        return self._decision_page(
            request,
            entry,
            form,
            "Allocate a bank transfer to an account",
            "admin/reconciliation/bankentry/allocate.html",
        )

    def return_view(self, request, entry_id: int):
        entry = self._entry(request, entry_id)
        form = EntryReturnForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                returned = bank_entry_return(
                    entry_id=entry.pk, note=form.cleaned_data["note"], actor=_staff(request)
                )
            except ApplicationError as error:
                _form_errors(form, error)
            else:
                return self._done(
                    request, f"{self.amount_display(returned)} marked returned to the payer."
                )
        return self._decision_page(
            request,
            entry,
            form,
            "Mark a bank transfer returned",
            "admin/reconciliation/bankentry/return.html",
        )
