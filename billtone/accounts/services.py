import secrets
from dataclasses import dataclass, fields
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from billtone.accounts import validation
from billtone.accounts.address import address_check
from billtone.accounts.models import Account, ApiToken, BillingProfile, Membership
from billtone.accounts.selectors import TOKEN_PREFIX, account_has_money_recorded, token_hash
from billtone.core import clock
from billtone.core.errors import ApplicationError, NotFound, ValidationFailed
from billtone.core.services import Actor, audit_record, changes_between
from billtone.notifications.services import email_queue

User = get_user_model()


@dataclass(frozen=True)
class BillingProfileInput:
    company_name: str
    billing_email: str
    currency: str
    timezone: str
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    postal_code: str = ""
    region: str = ""
    country: str = ""
    tax_id: str = ""


PROFILE_FIELDS = [f.name for f in fields(BillingProfileInput)]
LENGTHS = {
    name: BillingProfile._meta.get_field(name).max_length
    for name in PROFILE_FIELDS
    if BillingProfile._meta.get_field(name).max_length
}


def billing_profile_clean(data: BillingProfileInput) -> dict[str, str]:
    """Every field checked at once, so a page can show each error beside its field."""
    values = {name: (getattr(data, name) or "").strip() for name in PROFILE_FIELDS}
    errors: dict[str, list[str]] = {}

    def check(name: str, clean) -> None:
        if name in errors:  # one message per field: a too long value is not read further
            return
        try:
            values[name] = clean(values[name])
        except ValidationError as error:
            errors.setdefault(name, []).extend(error.messages)

    for name, limit in LENGTHS.items():
        if len(values[name]) > limit:
            errors.setdefault(name, []).append(f"At most {limit} characters.")
    if not values["company_name"]:
        errors.setdefault("company_name", []).append("Enter the company name.")
    check("billing_email", validation.clean_email)
    check("currency", validation.clean_currency)
    check("timezone", validation.clean_timezone)

    address = [
        values[n] for n in ("address_line1", "address_line2", "city", "postal_code", "region")
    ]
    if values["country"]:
        check("country", validation.clean_country)
    elif any(address):
        errors.setdefault("country", []).append("Choose the country of the billing address.")
    elif values["tax_id"]:
        errors.setdefault("country", []).append(
            "Choose the billing country: the VAT ID is checked against it."
        )
    if values["country"] and "country" not in errors:
        _address_check(values, errors)
        check(
            "tax_id",
            lambda v: validation.clean_tax_id(
                v, country=values["country"], postal_code=values["postal_code"]
            ),
        )
    if errors:
        raise ValidationFailed(errors)
    return values


def _address_check(values: dict[str, str], errors: dict[str, list[str]]) -> None:
    """The address checked for its country: one message per field, none on a field that
    already has one (too long)."""
    result = address_check(
        country=values["country"],
        address_line1=values["address_line1"],
        city=values["city"],
        postal_code=values["postal_code"],
        region=values["region"],
    )
    for name, message in result.errors.items():
        if name not in errors:
            errors[name] = [message]
    values["postal_code"], values["region"] = result.postal_code, result.region


def _profile_values(profile: BillingProfile) -> dict[str, str]:
    return {name: getattr(profile, name) for name in PROFILE_FIELDS}


def billing_currency_change_check(*, account: Account, current: str, new: str) -> None:
    """The billing currency may change only while no money is recorded in the current one
    (ValidationFailed on `currency`): the panel, the API and the back office ask here."""
    if new != current and account_has_money_recorded(account=account, currency=current):
        raise ValidationFailed(
            {
                "currency": [
                    f"The currency cannot change: this account already has money recorded in "
                    f"{current}. Ask the operator to open a new account for {new}."
                ]
            },
            detail="The currency cannot change once money is recorded in it.",
        )


@transaction.atomic
def billing_profile_update(
    *, account: Account, actor: Actor, data: BillingProfileInput
) -> BillingProfile:
    values = billing_profile_clean(data)
    profile = BillingProfile.objects.select_for_update().get(account=account)
    before = _profile_values(profile)
    billing_currency_change_check(account=account, current=profile.currency, new=values["currency"])
    changes = changes_between(before, values)
    if not changes:
        return profile
    for name, value in values.items():
        setattr(profile, name, value)
    profile.updated_at = clock.now()
    profile.save()
    entry = audit_record(
        actor=actor,
        action="billing_profile.update",
        obj=profile,
        changes=changes,
        account_id=account.pk,
    )
    if "billing_email" in changes:
        old_email, new_email = changes["billing_email"]
        email_queue(
            key=f"billing-email-changed:{entry.pk}",
            to_email=old_email,
            account=account,
            template="billing_email_changed",
            context={
                "profile": profile,
                "old_email": old_email,
                "new_email": new_email,
                "actor": actor.label,
            },
        )
    return profile


@transaction.atomic
def account_create(
    *,
    name: str,
    owner_email: str,
    owner_password: str | None,
    currency: str,
    timezone: str = "UTC",
    country: str = "",
    actor: Actor | None = None,
) -> Account:
    actor = actor or Actor.system()
    now = clock.now()
    try:
        values = {
            "company_name": name.strip(),
            "billing_email": validation.clean_email(owner_email),
            "currency": validation.clean_currency(currency),
            "timezone": validation.clean_timezone(timezone),
            "country": validation.clean_country(country) if country else "",
        }
    except ValidationError as error:
        raise ValidationFailed({"account": error.messages}) from None
    if not values["company_name"]:
        raise ValidationFailed({"name": ["Enter the company name."]})
    account = Account.objects.create(name=name, created_at=now)
    BillingProfile.objects.create(
        account=account,
        company_name=values["company_name"],
        billing_email=values["billing_email"],
        currency=values["currency"],
        timezone=values["timezone"],
        country=values["country"],
        updated_at=now,
    )
    member_add(
        account=account,
        email=owner_email,
        password=owner_password,
        role=Membership.Role.OWNER,
        actor=actor,
    )
    audit_record(actor=actor, action="account.create", obj=account, account_id=account.pk)
    return account


@transaction.atomic
def member_add(
    *, account: Account, email: str, password: str | None, role: str, actor: Actor
) -> Membership:
    email = validation.clean_email(email).lower()
    if role not in Membership.Role.values:
        raise ValidationFailed({"role": [f"Unknown role “{role}”."]})
    if User.objects.filter(username__iexact=email).exists():
        raise ValidationFailed({"email": ["A user with this email already exists."]})
    user = User(username=email, email=email)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    membership = Membership.objects.create(
        account=account, user=user, role=role, created_at=clock.now()
    )
    audit_record(
        actor=actor,
        action="member.add",
        obj=membership,
        account_id=account.pk,
        changes={"user": [None, email], "role": [None, role]},
    )
    return membership


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once; only its hash is kept


def _issue(*, user, account: Account | None, name: str) -> IssuedToken:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed({"name": ["Give the token a name of 1 to 100 characters."]})
    prefix = secrets.token_hex(6)
    secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        account=account,
        user=user,
        name=name,
        prefix=prefix,
        secret_hash=token_hash(secret),
        created_at=clock.now(),
    )
    return IssuedToken(token=token, secret=secret)


@transaction.atomic
def api_token_create(*, membership: Membership, name: str, actor: Actor) -> IssuedToken:
    issued = _issue(user=membership.user, account=membership.account, name=name)
    audit_record(
        actor=actor,
        action="api_token.create",
        obj=issued.token,
        account_id=membership.account_id,
        changes={"name": [None, issued.token.name]},
    )
    return issued


@transaction.atomic
def operator_token_create(*, user, name: str) -> IssuedToken:
    if not user.is_staff:
        raise ApplicationError(
            "Operator tokens belong to operator staff.",
            slug="forbidden",
            title="Forbidden",
            status=403,
        )
    issued = _issue(user=user, account=None, name=name)
    audit_record(
        actor=Actor(label=user.get_username(), user_id=user.pk),
        action="operator_token.create",
        obj=issued.token,
        changes={"name": [None, issued.token.name]},
    )
    return issued


@transaction.atomic
def api_token_revoke(*, account: Account, token_id: int, actor: Actor) -> ApiToken:
    token = ApiToken.objects.select_for_update().filter(account=account, pk=token_id).first()
    if token is None:
        raise NotFound("No such API token in this account.")
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action="api_token.revoke",
            obj=token,
            account_id=account.pk,
            changes={"revoked": [False, True]},
        )
    return token


TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


def api_token_touch(*, token: ApiToken) -> None:
    """Record the token's last use, at most once a minute, so that reads write nothing.

    Skipped when the loaded value is recent; otherwise a conditional UPDATE, so that workers
    serving the same token at the same moment write its row once."""
    now = clock.now()
    cutoff = now - TOKEN_TOUCH_INTERVAL
    if token.last_used_at is not None and token.last_used_at > cutoff:
        return
    ApiToken.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=cutoff), pk=token.pk
    ).update(last_used_at=now)
    token.last_used_at = now
