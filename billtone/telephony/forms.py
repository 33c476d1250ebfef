from django import forms

from billtone.catalog.models import Product


class NumbersImportForm(forms.Form):
    """The back office's inventory import: a pasted list of numbers of one country and type."""

    country = forms.RegexField(
        regex=r"^[A-Za-z]{2}$",
        max_length=2,
        help_text="ISO 3166 alpha-2, e.g. NL",
        error_messages={"invalid": "Enter a two-letter country code, e.g. NL."},
    )
    number_type = forms.ChoiceField(choices=Product.NumberType.choices)
    numbers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12, "cols": 40}),
        max_length=200_000,
        help_text="One number per line in international form: +31 20 123 4567",
    )

    def clean_country(self) -> str:
        return self.cleaned_data["country"].upper()
