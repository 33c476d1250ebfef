"""The operator's profile and billing policy: one row, changed by staff in the back office,
every change audited (it is printed on every invoice and decides every first charge)."""

from dataclasses import asdict, dataclass, fields

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from billtone.accounts import validation
from billtone.catalog.models import CUT_OFF_DAY_MAX, NUMBER_HOLD_MINUTES_MAX, OperatorProfile
from billtone.catalog.quick_add import quick_add_parse
from billtone.catalog.selectors import operator_profile_get
from billtone.core.errors import ValidationFailed
from billtone.core.money import AmountError
from billtone.core.services import Actor, audit_record, changes_between


@dataclass(frozen=True)
class OperatorProfileInput:
    legal_name: str
    country: str
    street: str = ""
    city: str = ""
    postal_code: str = ""
    vat_id: str = ""
    email: str = ""
    cut_off_day: int = 19
    number_hold_minutes: int = 30
    credit_quick_add: str = "10,20,50,100"


TEXT_FIELDS = [f.name for f in fields(OperatorProfileInput) if f.type is str or f.type == "str"]


def _whole_number(value: object, low: int, high: int, what: str) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high:
        raise ValidationError(f"Enter {what} from {low} to {high}.")
    return number


def _quick_add_clean(text: str) -> str:
    """The amounts as written, each checked in every currency the operator accepts."""
    for currency in settings.BILLTONE_CURRENCIES:
        try:
            quick_add_parse(text, currency=currency)
        except AmountError as error:
            raise ValidationError(f"{error} ({currency})") from None
    return ",".join(part.strip() for part in text.split(","))


def operator_profile_clean(data: OperatorProfileInput) -> dict[str, object]:
    """Every field checked at once, one message per field."""
    values: dict[str, object] = asdict(data)
    for name in TEXT_FIELDS:
        values[name] = (values[name] or "").strip()
    errors: dict[str, list[str]] = {}

    def check(name: str, clean) -> None:
        if name in errors:
            return
        try:
            values[name] = clean(values[name])
        except ValidationError as error:
            errors.setdefault(name, []).extend(error.messages)

    for name in TEXT_FIELDS:
        limit = OperatorProfile._meta.get_field(name).max_length
        if len(values[name]) > limit:
            errors[name] = [f"At most {limit} characters."]
    if not values["legal_name"]:
        errors.setdefault("legal_name", []).append("Enter the operator's legal name.")
    check("country", validation.clean_country)
    if values["email"]:
        check("email", validation.clean_email)
    if "country" not in errors:
        check(
            "vat_id",
            lambda v: validation.clean_tax_id(
                v, country=values["country"], postal_code=values["postal_code"]
            ),
        )
    check("cut_off_day", lambda v: _whole_number(v, 1, CUT_OFF_DAY_MAX, "a day of the month"))
    check(
        "number_hold_minutes",
        lambda v: _whole_number(v, 1, NUMBER_HOLD_MINUTES_MAX, "a number of minutes"),
    )
    check("credit_quick_add", _quick_add_clean)
    if errors:
        raise ValidationFailed(errors)
    return values


@transaction.atomic
def operator_profile_update(*, data: OperatorProfileInput, actor: Actor) -> OperatorProfile:
    values = operator_profile_clean(data)
    operator_profile_get()  # made from the settings on first use
    profile = OperatorProfile.objects.select_for_update().get(pk=OperatorProfile.SINGLETON_PK)
    changes = changes_between({name: getattr(profile, name) for name in values}, values)
    if not changes:
        return profile
    for name, value in values.items():
        setattr(profile, name, value)
    profile.save()
    audit_record(actor=actor, action="operator_profile.update", obj=profile, changes=changes)
    return profile
