"""The back office's statement imports: the upload page, its progress, and each import's
record with its "funds received" emails."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from billtone.core.admin import ReadOnlyAdmin
from billtone.core.errors import ApplicationError
from billtone.reconciliation.admin.common import form_errors, staff_actor
from billtone.reconciliation.forms import (
    StatementUploadForm,
)
from billtone.reconciliation.models import SavedCsvMap, StatementImport, StatementUpload
from billtone.reconciliation.selectors import funds_emails_progress
from billtone.reconciliation.services.uploads import statement_upload_create


def _pk(obj) -> int | None:
    return obj.pk if obj is not None else None


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
                "upload/<id:upload_id>/",
                wrap(self.upload_status_view),
                name="reconciliation_statementimport_upload_status",
            ),
            path(
                "upload/<id:upload_id>/progress/",
                wrap(self.upload_progress_view),
                name="reconciliation_statementimport_upload_progress",
            ),
            path(
                "<id:import_id>/emails/",
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
                    bank_account_id=_pk(form.cleaned_data["bank_account"]),
                    csv_map_id=_pk(form.cleaned_data["csv_map"]),
                    actor=staff_actor(request),
                )
            except ApplicationError as error:
                form_errors(form, error, default_field="file")
            else:
                return HttpResponseRedirect(
                    reverse("admin:reconciliation_statementimport_upload_status", args=[upload.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a bank statement",
            "opts": self.model._meta,
            "form": form,
            "has_csv_maps": SavedCsvMap.objects.exists(),
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
