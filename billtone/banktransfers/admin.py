"""The operator's side of the customer's bank transfers in the back office: the operator's
bank accounts (checked by the service's rules: bank_account_clean), account references and
bank transfers (read-only: services write them)."""

from django import forms
from django.contrib import admin

from billtone.banktransfers.models import AccountReference, FundingRequest, OperatorBankAccount
from billtone.banktransfers.services import BankAccountInput, bank_account_clean
from billtone.core.admin import BoundedDateHierarchy, ReadOnlyAdmin
from billtone.core.errors import ValidationFailed


class OperatorBankAccountForm(forms.ModelForm):
    class Meta:
        model = OperatorBankAccount
        fields = ["currency", "account_holder", "iban", "bic", "bank_name", "bank_address"]

    def clean(self):
        data = super().clean()
        try:
            values = bank_account_clean(
                BankAccountInput(**{f: data.get(f, "") for f in self.Meta.fields})
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
    form = OperatorBankAccountForm
    list_display = ["currency", "account_holder", "iban", "bic", "bank_name"]


@admin.register(AccountReference)
class AccountReferenceAdmin(ReadOnlyAdmin):
    list_display = ["reference", "account", "created_at"]
    search_fields = ["reference", "account__name"]
    list_select_related = ["account"]
    fields = ["reference", "account", "created_at"]
    readonly_fields = fields


@admin.register(FundingRequest)
class FundingRequestAdmin(BoundedDateHierarchy, ReadOnlyAdmin):
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
