import uuid

from django import forms

from billtone.core.money import Money

OTHER = "other"


class BankTransferForm(forms.Form):
    """Renders the amount choice; the service validates the amount (one set of rules for page
    and API). The hidden key makes a double submit return the first request."""

    amount_choice = forms.ChoiceField(
        label="Amount", widget=forms.RadioSelect, required=False, choices=()
    )
    custom_amount = forms.CharField(
        label="Other amount",
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, presets: tuple[Money, ...], locale: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount_choice"].choices = [
            (money.plain(), money.format(locale)) for money in presets
        ] + [(OTHER, "Other amount")]
        # The service gives the clear message for an amount it does not accept.
        self.fields["amount_choice"].valid_value = lambda value: True
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)

    @property
    def chose_other(self) -> bool:
        choice = self.data.get("amount_choice", "")
        return choice == OTHER or (not choice and bool(self.data.get("custom_amount", "").strip()))

    def amount(self) -> str | None:
        """The amount as typed or chosen; None when nothing was chosen."""
        if self.chose_other:
            return str(self.data.get("custom_amount", "")).strip()
        return str(self.data.get("amount_choice", "")).strip() or None

    def amount_field(self) -> str:
        return "custom_amount" if self.chose_other else "amount_choice"

    def submitted_key(self) -> str | None:
        return str(self.data.get("idempotency_key", "")).strip()[:64] or None

    def with_new_key(self) -> None:
        data = self.data.copy()
        data["idempotency_key"] = uuid.uuid4().hex
        self.data = data
