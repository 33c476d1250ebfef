"""The operator's side of the customer's bank transfers in the back office: the operator's
bank accounts (checked by the service's rules: bank_account_clean), account references and
bank transfers (read-only: services write them)."""

from django import forms
from django.contrib import admin

from billtone.banktransfers.models import AccountReference, BankTransfer, OperatorBankAccount
from billtone.banktransfers.services import (
    BankAccountInput,
    bank_account_clean,
    bank_account_save,
)
from billtone.core.admin import BoundedDateHierarchy, ReadOnlyAdmin
from billtone.core.errors import ValidationFailed
from billtone.core.services import Actor


class OperatorBankAccountForm(forms.ModelForm):
    class Meta:
        model = OperatorBankAccount
        fields = ["currency", "account_holder", "iban", "bic", "bank_name", "bank_address"]

    def clean(self):
        data = super().clean()
        try:
            values = bank_account_clean(  # the currency of a saved account is not in the form
                BankAccountInput(
                    **{f: data.get(f, getattr(self.instance, f)) for f in self.Meta.fields}
                )
            )
        except ValidationFailed as error:
            for name, messages in error.errors.items():
                for message in messages:
                    self.add_error(name, message)
            return data
        data.update(values)
        return data


@admin.register(OperatorBankAccount)
class OperatorBankAccountAdmin(admin.ModelAdmin):
    """Saved through bank_account_save, so every change is in the audit log. One account per
    currency: a saved account's currency is fixed, and an account is changed, never deleted
    (bank transfers' instructions sent customers to it)."""

    form = OperatorBankAccountForm
    list_display = ["currency", "account_holder", "iban", "bic", "bank_name"]

    def get_readonly_fields(self, request, obj=None):
        return ["currency"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        fields = OperatorBankAccountForm.Meta.fields
        saved = bank_account_save(
            data=BankAccountInput(**{name: getattr(obj, name) for name in fields}),
            actor=Actor(label=request.user.get_username(), user_id=request.user.pk),
        )
        obj.pk = saved.pk


@admin.register(AccountReference)
class AccountReferenceAdmin(ReadOnlyAdmin):
    list_display = ["reference", "account", "created_at"]
    search_fields = ["reference", "account__name"]
    list_select_related = ["account"]
    fields = ["reference", "account", "created_at"]
    readonly_fields = fields


@admin.register(BankTransfer)
class BankTransferAdmin(BoundedDateHierarchy, ReadOnlyAdmin):
    list_display = [
        "reference",
        "account",
        "amount",
        "currency",
        "status",
        "received_amount",
        "created_at",
        "expires_at",
    ]
    list_filter = ["status", "currency"]
    search_fields = ["reference", "account__name"]
    list_select_related = ["account"]
    date_hierarchy = "created_at"
    fields = [
        "reference",
        "account",
        "amount",
        "currency",
        "status",
        "received_amount",
        "received_at",
        "created_at",
        "expires_at",
        "created_by_label",
    ]
    readonly_fields = fields
