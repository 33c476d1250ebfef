from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from billtone.core import dates
from billtone.core.pagination import MAX_PAGE


def _date_field(label: str) -> forms.DateField:
    in_range = [
        MinValueValidator(dates.FIRST_DATE, message=dates.OUT_OF_RANGE),
        MaxValueValidator(dates.LAST_DATE, message=dates.OUT_OF_RANGE),
    ]
    return forms.DateField(
        label=label,
        required=False,
        validators=in_range,
        widget=forms.DateInput(
            attrs={
                "type": "date",
                "min": dates.FIRST_DATE.isoformat(),
                "max": dates.LAST_DATE.isoformat(),
            }
        ),
    )


class StatementFilterForm(forms.Form):
    date_from = _date_field("From")
    date_to = _date_field("To")
    page = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_PAGE, widget=forms.HiddenInput
    )

    def add_period_errors(self, errors: dict[str, list[str]]) -> None:
        """A selector's refusal of the period (keyed `from` / `to`) shown on the fields."""
        for name, messages in errors.items():
            field = {"from": "date_from", "to": "date_to"}.get(name)
            for message in messages:
                self.add_error(field, message)
