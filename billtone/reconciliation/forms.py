"""Back-office forms: upload a statement, save a CSV column map, allocate or return an entry
in review."""

import dataclasses
import json

from django import forms

from billtone.accounts.models import Account
from billtone.banktransfers.models import BankTransfer, OperatorBankAccount
from billtone.banktransfers.references import reference_format
from billtone.core.errors import ValidationFailed
from billtone.core.money import Money
from billtone.reconciliation.models import BankEntry, SavedCsvMap
from billtone.reconciliation.services.csv_maps import CsvMapInput, csv_map_clean
from billtone.reconciliation.services.imports import StatementTooLarge, statement_size_check
from billtone.reconciliation.statements import FORMATS
from billtone.reconciliation.statements.csv_file import CsvColumnMap

FORMAT_CHOICES = [
    ("", "Detect from the file"),
    *((f, label) for f, label in (("camt053", "camt.053"), ("mt940", "MT940"), ("csv", "CSV"))),
]
assert {f for f, _ in FORMAT_CHOICES if f} == set(FORMATS)


class _MapRadios(forms.RadioSelect):
    """Each saved map's choice names its bank account, for the page to offer only the chosen
    account's maps (reconciliation/upload.js); the service refuses another account's."""

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-bank-account"] = str(instance.bank_account_id)
        return option


class _MapChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: SavedCsvMap) -> str:
        return f"{obj.name} ({obj.bank_account.currency} account)"


class StatementUploadForm(forms.Form):
    file = forms.FileField(label="Statement file", help_text="camt.053 (XML), MT940 or CSV.")
    format = forms.ChoiceField(choices=FORMAT_CHOICES, required=False)
    bank_account = forms.ModelChoiceField(
        queryset=OperatorBankAccount.objects.order_by("currency"),
        required=False,
        help_text="The operator's account the statement is of: a CSV file is read with one of "
        "its saved column maps.",
    )
    csv_map = _MapChoice(
        queryset=SavedCsvMap.objects.select_related("bank_account").order_by(
            "bank_account__currency", "name"
        ),
        required=False,
        blank=True,
        empty_label="None (camt.053 and MT940 files name their columns)",
        label="CSV column map",
        widget=_MapRadios,
        help_text="For CSV files: which column holds what, saved once per bank account.",
    )

    def clean_file(self):
        """Over the size limit: refused here, before anything reads the file (an upload that
        large was not even stored, see uploads.py)."""
        file = self.cleaned_data["file"]
        try:
            statement_size_check(name=file.name, size=file.size)
        except StatementTooLarge as error:
            raise forms.ValidationError(error.errors["file"][0]) from None
        return file


class _BankTransferChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: BankTransfer) -> str:
        amount = Money(obj.amount, obj.currency).rounded().plain()
        return (
            f"{reference_format(obj.reference)} — {obj.account.name} — {amount} {obj.currency} "
            f"({obj.get_status_display().lower()})"
        )


class EntryAllocateForm(forms.Form):
    account = forms.ModelChoiceField(queryset=Account.objects.none())
    bank_transfer = _BankTransferChoice(
        queryset=BankTransfer.objects.none(),
        required=False,
        label="Bank transfer",
        help_text="Pick the customer's bank transfer this payment is for: it is marked received.",
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))

    def __init__(self, *args, entry: BankEntry, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.filter(
            billing_profile__currency=entry.currency
        ).order_by("name")
        self.fields["account"].help_text = f"Customer accounts billed in {entry.currency}."
        self.fields["bank_transfer"].queryset = (
            BankTransfer.objects.filter(
                currency=entry.currency,
                status__in=[BankTransfer.Status.AWAITING_FUNDS, BankTransfer.Status.EXPIRED],
            )
            .select_related("account")
            .order_by("account__name", "-created_at")
        )


class EntryReturnForm(forms.Form):
    note = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="e.g. how and when the money was sent back.",
    )


class SavedCsvMapForm(forms.ModelForm):
    """A saved CSV column map, its columns typed as the command's --csv-map JSON and checked
    by the same code (services.csv_maps.csv_map_clean): every fault shown at its field."""

    columns = forms.CharField(
        label="Column map (JSON)",
        widget=forms.Textarea(attrs={"rows": 12, "cols": 80, "spellcheck": "false"}),
        help_text=(
            'e.g. {"booking_date": "Buchungstag", "amount": "Betrag", "default_currency": '
            '"EUR", "payer_name": "Name", "payer_iban": "IBAN", "reference": "Verwendungszweck", '
            '"entry_id": "Id", "delimiter": ";", "decimal_comma": true, "date_format": '
            '"%d.%m.%Y"}. Keys: ' + ", ".join(f.name for f in dataclasses.fields(CsvColumnMap))
        ),
    )

    class Meta:
        model = SavedCsvMap
        fields = ["bank_account", "name", "columns"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["columns"] = json.dumps(self.instance.columns, indent=2)

    def clean(self):
        data = super().clean()
        bank = data.get("bank_account")
        try:
            csv_map_clean(  # the service checks again when it saves
                CsvMapInput(
                    bank_account_id=bank.pk if bank else None,
                    name=data.get("name") or "",
                    columns=data.get("columns") or "",
                )
            )
        except ValidationFailed as error:
            for name, messages in error.errors.items():
                for message in messages:
                    if name not in self.errors:  # the field's own check said it first
                        self.add_error(name, message)
        return data
