from django import forms

from billtone.core.money import Money


class AutoTopUpForm(forms.Form):
    """The page's form: its rules are the service's (errors shown beside their fields)."""

    enabled = forms.BooleanField(label="Top up call credit automatically", required=False)
    value = forms.ChoiceField(
        label="Credit to add",
        required=False,
        help_text="One top-up adds this much, or a few times it when a call took more.",
    )
    threshold = forms.CharField(
        label="When call credit falls below",
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    low_credit_level = forms.CharField(
        label="Email me when call credit falls below",
        required=False,
        max_length=32,
        help_text="Leave empty for no email.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    def __init__(self, *args, values: list[Money], locale: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["value"].choices = [("", "Choose…")] + [
            (value.plain(), value.format(locale)) for value in values
        ]

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for name, messages in errors.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
