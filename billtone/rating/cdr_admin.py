"""The back office's CDRs: filters by status and reason, corrections of a rejected CDR's
account code, caller or number, and "Re-rate selected"; the imports; the lines of CDR files
that could not be read (read only, by file and reason); emergency numbers."""

from django.contrib import admin, messages

from billtone.core.admin import ReadOnlyAdmin
from billtone.core.services import Actor
from billtone.rating.cdr_models import (
    Cdr,
    CdrBatch,
    CdrLineRejected,
    CdrStatus,
    EmergencyNumber,
)
from billtone.rating.services.ingest import cdr_correct, cdr_rerate

CORRECTABLE = ["account_code", "source", "destination"]


def _actor(request) -> Actor:
    return Actor(label=f"{request.user.get_username()} (back office)", user_id=request.user.pk)


@admin.register(Cdr)
class CdrAdmin(admin.ModelAdmin):
    list_display = [
        "started_at",
        "call_id",
        "account",
        "source",
        "destination",
        "status",
        "reason",
        "billsec",
        "cost",
        "charged",
        "credit_short",
    ]
    list_filter = ["status", "reason", "credit_short", "batch__source"]
    search_fields = ["call_id", "account_code", "source", "destination", "destination_e164"]
    list_select_related = ["account"]
    date_hierarchy = "started_at"
    actions = ["rerate_selected"]

    def get_readonly_fields(self, request, obj=None):
        fields = [f.name for f in Cdr._meta.fields]
        if obj is not None and obj.status == CdrStatus.REJECTED:
            return [name for name in fields if name not in CORRECTABLE]
        return fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        stored = Cdr.objects.get(pk=obj.pk)
        cdr_correct(
            cdr=stored,
            account_code=form.cleaned_data["account_code"],
            source=form.cleaned_data["source"],
            destination=form.cleaned_data["destination"],
            actor=_actor(request),
        )

    @admin.action(description="Re-rate selected (rejected ones)")
    def rerate_selected(self, request, queryset):
        ids = list(queryset.filter(status=CdrStatus.REJECTED).values_list("pk", flat=True))
        if not ids:
            self.message_user(request, "None of the selected CDRs is rejected.", messages.WARNING)
            return
        summary = cdr_rerate(cdr_ids=ids, actor=_actor(request))
        reasons = ", ".join(f"{n} {r}" for r, n in summary.rejected_by_reason.items())
        self.message_user(
            request,
            f"Re-rated {summary.records_read}: {summary.rated} rated, "
            f"{summary.not_rated} not rated, {summary.rejected} still rejected"
            + (f" ({reasons})." if reasons else "."),
            messages.SUCCESS if not summary.rejected else messages.WARNING,
        )


@admin.register(CdrBatch)
class CdrBatchAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "source",
        "records_read",
        "answered",
        "rated",
        "not_rated",
        "rejected",
        "duplicates",
        "created_by",
    ]
    readonly_fields = [f.name for f in CdrBatch._meta.fields]


@admin.register(CdrLineRejected)
class CdrLineRejectedAdmin(ReadOnlyAdmin):
    """What the operator fixes in the file before importing it again."""

    list_display = ["file_name", "line", "reason", "message", "batch"]
    list_filter = ["reason", "file_name"]
    search_fields = ["file_name", "text", "message"]
    list_select_related = ["batch"]
    readonly_fields = [f.name for f in CdrLineRejected._meta.fields]


@admin.register(EmergencyNumber)
class EmergencyNumberAdmin(admin.ModelAdmin):
    list_display = ["number", "country", "name"]
    list_filter = ["country"]
