"""The back office's saved CSV column maps: made and changed through the service (checked
as the command's --csv-map, audited), chosen from a list on the statement upload page."""

from django.contrib import admin

from billtone.reconciliation.admin.common import staff_actor
from billtone.reconciliation.forms import SavedCsvMapForm
from billtone.reconciliation.models import SavedCsvMap
from billtone.reconciliation.services.csv_maps import CsvMapInput, csv_map_delete, csv_map_save


@admin.register(SavedCsvMap)
class SavedCsvMapAdmin(admin.ModelAdmin):
    form = SavedCsvMapForm
    list_display = ["name", "bank_account", "updated_at"]
    list_filter = ["bank_account"]
    list_select_related = ["bank_account"]
    search_fields = ["name"]
    readonly_fields = ["created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        saved = csv_map_save(
            map_id=obj.pk,
            data=CsvMapInput(
                bank_account_id=form.cleaned_data["bank_account"].pk,
                name=form.cleaned_data["name"],
                columns=form.cleaned_data["columns"],
            ),
            actor=staff_actor(request),
        )
        obj.pk, obj.columns = saved.pk, saved.columns

    def delete_model(self, request, obj):
        csv_map_delete(map_id=obj.pk, actor=staff_actor(request))

    def delete_queryset(self, request, queryset):
        for pk in queryset.values_list("pk", flat=True):
            csv_map_delete(map_id=pk, actor=staff_actor(request))
