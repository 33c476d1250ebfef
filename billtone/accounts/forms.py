from django import forms
from django.forms.utils import ErrorDict

from billtone.accounts import validation
from billtone.accounts.services import BillingProfileInput


class BillingProfileForm(forms.Form):
    """Renders the fields; the service validates (one set of rules for page and API)."""

    company_name = forms.CharField(label="Company name", max_length=200)
    address_line1 = forms.CharField(label="Street address", max_length=200, required=False)
    address_line2 = forms.CharField(label="Address line 2", max_length=200, required=False)
    city = forms.CharField(label="City", max_length=100, required=False)
    postal_code = forms.CharField(label="Postal code", max_length=20, required=False)
    region = forms.CharField(label="Region / state", max_length=100, required=False)
    country = forms.ChoiceField(label="Country", required=False)
    currency = forms.ChoiceField(label="Preferred currency")
    timezone = forms.CharField(
        label="Account timezone",
        max_length=64,
        widget=forms.TextInput(attrs={"list": "timezones", "autocomplete": "off"}),
    )
    billing_email = forms.CharField(
        label="Billing email",
        max_length=254,
        help_text="Every invoice and payment notification is sent here.",
        widget=forms.EmailInput(),
    )
    tax_id = forms.CharField(label="VAT / tax ID", max_length=40, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = [("", "—")] + list(validation.countries().items())
        self.fields["currency"].choices = [(c, c) for c in validation.enabled_currencies()]
        # Choice fields accept any posted value here; the service gives the clear message.
        self.fields["country"].valid_value = lambda value: True
        self.fields["currency"].valid_value = lambda value: True

    def full_clean(self) -> None:
        """The form checks nothing itself: its own "required" and length checks would add a
        second message to the service's for one fault."""
        self._errors = ErrorDict()
        self.cleaned_data = {}

    def to_input(self) -> BillingProfileInput:
        return BillingProfileInput(**{name: str(self.data.get(name, "")) for name in self.fields})

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for name, messages in errors.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)


class ApiTokenForm(forms.Form):
    name = forms.CharField(label="Token name", max_length=100)
