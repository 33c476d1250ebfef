"""Back-office form: upload a rate deck."""

from django import forms

from billtone.rating.deck_columns import ColumnMapError, column_map_parse

MAX_DECK_BYTES = 64 * 2**20  # a 200,000-prefix deck is about 10 MiB


class RateDeckUploadForm(forms.Form):
    file = forms.FileField(
        label="Rate deck (CSV)",
        help_text="A header naming prefix (code, dial code), destination (country, "
        "description), rate (price, per minute), connection fee (setup fee) and increments "
        "(initial / subsequent, or one column such as 60/60): read without a map.",
    )
    name = forms.CharField(max_length=200)
    currency = forms.CharField(max_length=3, help_text="ISO 4217, e.g. EUR.")
    effective_from = forms.DateTimeField(
        help_text="Calls started from this moment on (the back office's time zone) are "
        "priced by this deck; it may be in the future.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    sub_units = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=10**8,
        label="Prices in sub-units",
        help_text="Leave empty when prices are in the currency; 10000 when the file writes "
        "them in 1/10,000 of it.",
    )
    column_map = forms.CharField(
        required=False,
        label="Column map",
        help_text="Only for other headers: prefix=Code,rate=Price,destination=Zone,"
        "connection_fee=Setup,initial=Min,subsequent=Int,increments=Billing.",
    )

    def clean_file(self):
        file = self.cleaned_data["file"]
        if file.size > MAX_DECK_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAX_DECK_BYTES // 2**20} MiB; split the deck or "
                "use billtone import-rate-deck."
            )
        return file

    def clean_currency(self):
        return self.cleaned_data["currency"].strip().upper()

    def clean_column_map(self):
        try:
            return column_map_parse(self.cleaned_data["column_map"])
        except ColumnMapError as error:
            raise forms.ValidationError(str(error)) from None
