"""The back office: the operator's inventory of numbers (filled by the import page, changed
only by the services) and the customers' phone users (read-only: they change through the
Billing panel, the basket and checkout)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from billtone.core.admin import ReadOnlyAdmin
from billtone.core.errors import ApplicationError, ValidationFailed
from billtone.core.services import Actor
from billtone.telephony.forms import NumbersImportForm
from billtone.telephony.models import PhoneNumber, PhoneUser
from billtone.telephony.services import number_cancel, numbers_import, phone_user_cancel


def _actor(request) -> Actor:
    return Actor(label=request.user.get_username(), user_id=request.user.pk)


def _each(modeladmin, request, items, cancel, done: str) -> None:
    """Cancel each item through its service; say how many, and why any one was refused."""
    cancelled = 0
    for item in items:
        try:
            cancel(item)
        except ApplicationError as error:
            modeladmin.message_user(request, f"{item}: {error.detail}", messages.ERROR)
        else:
            cancelled += 1
    if cancelled:
        modeladmin.message_user(request, f"{cancelled} {done}.", messages.SUCCESS)


@admin.register(PhoneNumber)
class PhoneNumberAdmin(ReadOnlyAdmin):
    list_display = ["e164", "country", "number_type", "product", "status", "account", "held_until"]
    list_filter = ["status", "country", "number_type"]
    list_select_related = ["product", "account"]
    search_fields = ["e164", "account__name"]
    readonly_fields = [f.name for f in PhoneNumber._meta.fields]
    change_list_template = "admin/telephony/phonenumber/change_list.html"
    actions = ["cancel_numbers"]

    def has_add_permission(self, request, obj=None):
        return request.user.has_perm("telephony.add_phonenumber")

    def has_cancel_permission(self, request) -> bool:
        return request.user.has_perm("telephony.change_phonenumber")

    @admin.action(
        description="Take back from the account (the PBX is told)", permissions=["cancel"]
    )
    def cancel_numbers(self, request, queryset):
        def cancel(number):
            if number.account is None:
                raise ValidationFailed({}, detail="it is in the inventory already.")
            number_cancel(account=number.account, number_id=number.pk, actor=_actor(request))

        _each(self, request, queryset.select_related("account"), cancel, "numbers taken back")

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
                    actor=_actor(request),
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
    actions = ["cancel_users"]

    def has_cancel_permission(self, request) -> bool:
        return request.user.has_perm("telephony.change_phoneuser")

    @admin.action(description="Cancel the selected users (the PBX is told)", permissions=["cancel"])
    def cancel_users(self, request, queryset):
        def cancel(user):
            phone_user_cancel(account=user.account, user_id=user.pk, actor=_actor(request))

        _each(self, request, queryset.select_related("account"), cancel, "users cancelled")
