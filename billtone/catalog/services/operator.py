"""The operator's profile and billing policy: one row, changed by staff in the back office,
every change audited (it is printed on every invoice and decides every first charge)."""

from dataclasses import asdict, dataclass, fields

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from billtone.accounts import validation
from billtone.catalog.models import (
    AUTO_TOP_UP_FAILURES_MAX,
    AUTO_TOP_UPS_MAX,
    BILLING_DAY_MAX,
    CUT_OFF_DAY_MAX,
    DUNNING_ATTEMPTS_MAX,
    DUNNING_DAYS_MAX,
    NUMBER_HOLD_MINUTES_MAX,
    OperatorProfile,
)
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
    billing_day: int = 1
    bills_from_funds: bool = True
    dunning_days: str = "1,3,7"
    cancel_policy: str = OperatorProfile.CancelPolicy.END_OF_PERIOD
    plan_change_policy: str = OperatorProfile.PlanChangePolicy.NEXT_PERIOD
    auto_top_ups_per_day: int = 5
    auto_top_ups_per_month: int = 50
    auto_top_up_failures: int = 3


TEXT_FIELDS = [
    f.name
    for f in fields(OperatorProfileInput)
    if (f.type is str or f.type == "str")
    and f.name not in ("dunning_days", "cancel_policy", "plan_change_policy")
]


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


def _dunning_days_clean(text: object) -> str:
    """Days after issue, each 1–60, strictly ascending, 1 to 10 of them: "1,3,7"."""
    parts = [part.strip() for part in str(text or "").split(",")]
    if not any(parts):
        raise ValidationError("Enter at least one day, e.g. 1,3,7.")
    days = []
    for part in parts:
        if not part.isdigit() or not 1 <= int(part) <= DUNNING_DAYS_MAX:
            raise ValidationError(
                f"“{part}” is not a number of days from 1 to {DUNNING_DAYS_MAX}; "
                "write days separated by commas, e.g. 1,3,7."
            )
        days.append(int(part))
    if len(days) > DUNNING_ATTEMPTS_MAX:
        raise ValidationError(f"At most {DUNNING_ATTEMPTS_MAX} tries.")
    if days != sorted(set(days)):
        raise ValidationError("Write the days in increasing order, each once, e.g. 1,3,7.")
    return ",".join(str(day) for day in days)


def _choice(model_choices):
    def clean(value: object) -> str:
        if value not in model_choices.values:
            raise ValidationError(f"Choose one of: {', '.join(model_choices.labels)}.")
        return str(value)

    return clean


def _yes_no(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in ("1", "true", "yes", "on"):
        return True
    if str(value).strip().lower() in ("", "0", "false", "no", "off"):
        return False
    raise ValidationError("Yes or no.")


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
    check("billing_day", lambda v: _whole_number(v, 1, BILLING_DAY_MAX, "a day of the month"))
    check("bills_from_funds", _yes_no)
    check("dunning_days", _dunning_days_clean)
    check("cancel_policy", _choice(OperatorProfile.CancelPolicy))
    check("plan_change_policy", _choice(OperatorProfile.PlanChangePolicy))
    for name in ("auto_top_ups_per_day", "auto_top_ups_per_month"):
        check(name, lambda v: _whole_number(v, 1, AUTO_TOP_UPS_MAX, "a number of top-ups"))
    check(
        "auto_top_up_failures",
        lambda v: _whole_number(v, 1, AUTO_TOP_UP_FAILURES_MAX, "a number of failures"),
    )
    if (
        not errors.keys() & {"auto_top_ups_per_day", "auto_top_ups_per_month"}
        and values["auto_top_ups_per_day"] > values["auto_top_ups_per_month"]
    ):
        errors["auto_top_ups_per_month"] = ["At least as many per month as per day."]
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
