from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList

from billtone.core.models import AuditEntry


class _BoundedDatesChangeList(ChangeList):
    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as error:
            raise IncorrectLookupParameters(error) from error


class BoundedDateHierarchy:
    """For a ModelAdmin with a date_hierarchy: Django computes the day, month or year after the
    one in the link, which at the end of the calendar (?created_at__year=9999) overflows into a
    500. Such a link is then an incorrect lookup, shown as Django shows any other (?e=1)."""

    def get_changelist(self, request, **kwargs):
        return _BoundedDatesChangeList


class ReadOnlyAdmin(admin.ModelAdmin):
    """A back-office page that shows rows and changes none: what it shows is changed by
    services (a reversal, a refund, an allocation) or never (an audit entry)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_label", "action", "object_type", "object_id", "account"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "object_id", "account__name"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
