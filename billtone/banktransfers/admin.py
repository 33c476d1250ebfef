from django import forms
from django.contrib import admin

from billtone.banktransfers.models import OperatorBankAccount
from billtone.banktransfers.services import BankAccountInput, bank_account_clean
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
