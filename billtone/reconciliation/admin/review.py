"""The back office's review queue: the bank entries the import could not match, and the
allocate and return pages where staff decide them."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from billtone.core.admin import BoundedDateHierarchy, ReadOnlyAdmin
from billtone.core.errors import ApplicationError
from billtone.core.money import Money
from billtone.reconciliation.admin.common import form_errors, staff_actor
from billtone.reconciliation.forms import (
    EntryAllocateForm,
    EntryReturnForm,
)
from billtone.reconciliation.models import BankEntry
from billtone.reconciliation.services.review import bank_entry_allocate, bank_entry_return


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
        "suggested_bank_transfer",
        "suggestion_reason",
        "account",
        "bank_transfer",
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
                "<id:entry_id>/allocate/",
                wrap(self.allocate_view),
                name="reconciliation_bankentry_allocate",
            ),
            path(
                "<id:entry_id>/return/",
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

    def _decision_page(self, request, entry, form, title, *, step, form_id, submit_label):
        """The page of one decision on an entry (allocate, mark returned): one template."""
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "original": entry,
            "entry": entry,
            "amount": self.amount_display(entry),
            "form": form,
            "step": step,
            "form_id": form_id,
            "submit_label": submit_label,
        }
        return TemplateResponse(request, "admin/reconciliation/bankentry/decision.html", context)

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
                "bank_transfer": entry.suggested_bank_transfer_id,
            },
        )
        if request.method == "POST" and form.is_valid():
            try:
                allocated = bank_entry_allocate(
                    entry_id=entry.pk,
                    account=form.cleaned_data["account"],
                    bank_transfer=form.cleaned_data["bank_transfer"],
                    note=form.cleaned_data["note"],
                    actor=staff_actor(request),
                )
            except ApplicationError as error:
                form_errors(form, error)
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
            step="Allocate",
            form_id="allocate-form",
            submit_label="Credit the business funds",
        )

    def return_view(self, request, entry_id: int):
        entry = self._entry(request, entry_id)
        form = EntryReturnForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                returned = bank_entry_return(
                    entry_id=entry.pk, note=form.cleaned_data["note"], actor=staff_actor(request)
                )
            except ApplicationError as error:
                form_errors(form, error)
            else:
                return self._done(
                    request, f"{self.amount_display(returned)} marked returned to the payer."
                )
        return self._decision_page(
            request,
            entry,
            form,
            "Mark a bank transfer returned",
            step="Mark returned",
            form_id="return-form",
            submit_label="Mark returned",
        )
