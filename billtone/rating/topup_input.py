"""Amounts of the auto top-up settings as the API (plain notation) and the page (as people
write numbers in the account's locale) send them: every field's problem at once."""

from billtone.core.errors import ValidationFailed
from billtone.core.money import AmountError, Money, amount_parse, amount_parse_typed
from billtone.rating.services.topup import AutoTopUpInput, auto_top_up_settings_clean


def auto_top_up_input_parse(
    *,
    enabled: bool,
    value: object,
    threshold: object,
    low_credit_level: object,
    currency: str,
    locale: str | None = None,
) -> AutoTopUpInput:
    """`locale` None: the API's plain notation (null: no amount); else typed by a person in
    that locale (an empty field: no amount)."""
    errors: dict[str, list[str]] = {}

    def parse(name: str, raw: object) -> Money | None:
        if raw is None or (locale is not None and isinstance(raw, str) and not raw.strip()):
            return None  # the API says "none" with null; the page with an empty field
        try:
            if locale is None:
                return amount_parse(raw, currency)
            return amount_parse_typed(raw, currency, locale=locale)
        except AmountError as error:
            errors[name] = [str(error)]
            return None

    parsed = AutoTopUpInput(
        enabled=enabled,
        value=parse("value", value),
        threshold=parse("threshold", threshold),
        low_credit_level=parse("low_credit_level", low_credit_level),
    )
    if errors:  # with what the service says of the fields that could be read
        try:
            auto_top_up_settings_clean(data=parsed, currency=currency)
        except ValidationFailed as more:
            for name, messages in more.errors.items():
                errors.setdefault(name, messages)
        raise ValidationFailed(errors, detail="The auto top-up settings were not saved.")
    return parsed
