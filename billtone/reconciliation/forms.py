"""Back-office forms: upload a statement, allocate or return an entry in review."""

from django import forms

from billtone.accounts.models import Account
from billtone.banktransfers.models import BankTransfer
from billtone.banktransfers.references import reference_format
from billtone.core.money import Money
from billtone.reconciliation.models import BankEntry
from billtone.reconciliation.services.imports import StatementTooLarge, statement_size_check
from billtone.reconciliation.statements import FORMATS

FORMAT_CHOICES = [
    ("", "Detect from the file"),
    *((f, label) for f, label in (("camt053", "camt.053"), ("mt940", "MT940"), ("csv", "CSV"))),
]
assert {f for f, _ in FORMAT_CHOICES if f} == set(FORMATS)


class StatementUploadForm(forms.Form):
    file = forms.FileField(label="Statement file", help_text="camt.053 (XML), MT940 or CSV.")
    format = forms.ChoiceField(choices=FORMAT_CHOICES, required=False)
    csv_columns = forms.CharField(
        label="CSV column map",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text=(
            'For CSV files: JSON naming the columns, e.g. {"booking_date": "Date", '
            '"amount": "Amount", "default_currency": "EUR", "payer_name": "Name", '
            '"reference": "Reference", "free_text": ["Description"], "entry_id": "Id"}.'
        ),
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
