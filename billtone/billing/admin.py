"""Bill runs in the back office, read-only (starting one from a page comes with its own page)."""

from django.contrib import admin

from billtone.billing.models import BillFailure, BillRun
from billtone.core.admin import ReadOnlyAdmin


class BillFailureInline(admin.TabularInline):
    model = BillFailure
    fields = ["account", "period", "reason", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BillRun)
class BillRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "status",
        "at",
        "started_at",
        "finished_at",
        "due",
        "invoiced",
        "skipped",
        "failed",
        "paid_from_funds",
        "paid_by_card",
        "left_unpaid",
    ]
    list_filter = ["status"]
    inlines = [BillFailureInline]
