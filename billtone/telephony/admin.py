"""The back office: the operator's inventory of numbers (filled by the import page, changed
only by the services) and the customers' phone users (read-only: they change through the
Billing panel, the basket and checkout)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from billtone.core.admin import ReadOnlyAdmin
from billtone.core.errors import ValidationFailed
from billtone.core.services import Actor
from billtone.telephony.forms import NumbersImportForm
from billtone.telephony.models import PhoneNumber, PhoneUser
from billtone.telephony.services import numbers_import


@admin.register(PhoneNumber)
class PhoneNumberAdmin(ReadOnlyAdmin):
    list_display = ["e164", "country", "number_type", "product", "status", "account", "held_until"]
    list_filter = ["status", "country", "number_type"]
    list_select_related = ["product", "account"]
    search_fields = ["e164", "account__name"]
    readonly_fields = [f.name for f in PhoneNumber._meta.fields]
    change_list_template = "admin/telephony/phonenumber/change_list.html"

    def has_add_permission(self, request, obj=None):
        return request.user.has_perm("telephony.add_phonenumber")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name="telephony_phonenumber_import"),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:telephony_phonenumber_import"))

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = NumbersImportForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                added = numbers_import(
                    text=form.cleaned_data["numbers"],
                    country=form.cleaned_data["country"],
                    number_type=form.cleaned_data["number_type"],
                    actor=Actor(label=request.user.get_username(), user_id=request.user.pk),
                )
            except ValidationFailed as error:
                for field, texts in error.errors.items():
                    for text in texts:
                        form.add_error(field if field in form.fields else None, text)
            else:
                self.message_user(request, f"{added} numbers imported.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:telephony_phonenumber_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import numbers",
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "admin/telephony/phonenumber/import.html", context)


@admin.register(PhoneUser)
class PhoneUserAdmin(ReadOnlyAdmin):
    list_display = ["name", "extension", "account", "plan", "status", "created_at"]
    list_filter = ["status", "plan"]
    list_select_related = ["account", "plan"]
    search_fields = ["name", "email", "extension", "account__name"]
    readonly_fields = [f.name for f in PhoneUser._meta.fields]
