import functools
import hashlib
import hmac
from collections.abc import Collection

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, connections, router
from django.db.models import QuerySet

from billtone.accounts import money_checks
from billtone.accounts.models import Account, ApiToken, BillingProfile, Membership
from billtone.core.errors import NotFound
from billtone.core.rows import ModelColumns

TOKEN_PREFIX = "bt_"


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def membership_for_user(user: AbstractBaseUser | AnonymousUser) -> Membership | None:
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.select_related("account", "account__billing_profile")
        .filter(user=user)
        .first()
    )


def billing_admin_list(*, account: Account) -> QuerySet[Membership]:
    """Who may use the account's Billing panel: its owners, then its billing admins."""
    return (
        Membership.objects.filter(account=account, role__in=Membership.BILLING_ROLES)
        .select_related("user")
        .order_by("-role", "user__email")  # "owner" after "billing_admin" alphabetically
    )


def api_token_from_header(authorization: str) -> ApiToken | None:
    """The active token named by an `Authorization: Bearer bt_<prefix>_<secret>` header."""
    scheme, _, raw = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return api_token_from_secret(raw.strip())


def api_token_from_secret(raw: str) -> ApiToken | None:
    """The active token whose secret is `raw`, found by its unique prefix in one query that also
    brings its user, account, billing profile and the user's membership (token_membership)."""
    if not raw.startswith(TOKEN_PREFIX) or raw.count("_") < 2:
        return None
    prefix = raw[len(TOKEN_PREFIX) :].split("_", 1)[0]
    token = _token_with_relations(prefix)
    if token is None:
        return None
    if not hmac.compare_digest(token.secret_hash, token_hash(raw)):
        return None
    if token.is_operator and not token.user.is_staff:
        return None
    return token


@functools.cache
def _token_query() -> tuple[str, tuple[ModelColumns, ...]]:
    """SELECT token, user, membership, account, billing profile by token prefix: written once
    (core/rows.py says why), the equivalent of
    ApiToken.objects.select_related("user__membership", "account__billing_profile")."""
    token, user, membership, account, profile = parts = (
        ModelColumns(ApiToken, "t"),
        ModelColumns(get_user_model(), "u"),
        ModelColumns(Membership, "m"),
        ModelColumns(Account, "a"),
        ModelColumns(BillingProfile, "p"),
    )
    sql = (
        f"SELECT {', '.join(part.select for part in parts)}"  # noqa: S608 (names from the models; values are parameters)
        f" FROM {token.table}"
        f" JOIN {user.table} ON u.id = t.user_id"
        f" LEFT JOIN {membership.table} ON m.user_id = u.id"
        f" LEFT JOIN {account.table} ON a.id = t.account_id"
        f" LEFT JOIN {profile.table} ON p.account_id = a.id"
        " WHERE t.prefix = %s AND t.revoked_at IS NULL AND u.is_active = %s"
    )
    return sql, parts


def _token_with_relations(prefix: str) -> ApiToken | None:
    sql, parts = _token_query()
    using = router.db_for_read(ApiToken)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [prefix, True])
        row = cursor.fetchone()
    if row is None:
        return None
    token, user, membership, account, profile = _instances(row, parts, using=using)
    token.user = user
    if membership is not None:
        user.membership = membership
    if account is not None:
        token.account = account
        if profile is not None:
            account.billing_profile = profile
    return token


def _instances(row, parts: tuple[ModelColumns, ...], *, using: str) -> list:
    instances, start = [], 0
    for part in parts:
        instances.append(part.instance(row, start, using=using))
        start += len(part)
    return instances


def token_membership(token: ApiToken) -> Membership | None:
    """The membership an account token acts as; None once its user left the account.

    A token from api_token_from_secret carries it already: no query."""
    if token.is_operator:
        return None
    try:
        membership = token.user.membership
    except Membership.DoesNotExist:
        return None
    if membership.account_id != token.account_id:
        return None
    membership.account = token.account  # the same row, loaded with its billing profile
    return membership


def billing_profile_get(*, account: Account) -> BillingProfile:
    """The account's billing profile with its account, read fresh."""
    sql, profiles, accounts = _billing_profile_query()
    using = router.db_for_read(BillingProfile)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [account.pk])
        row = cursor.fetchone()
    if row is None:
        raise BillingProfile.DoesNotExist("No billing profile for this account.")
    profile = profiles.instance(row, 0, using=using)
    profile.account = accounts.instance(row, len(profiles), using=using)
    return profile


@functools.cache
def _billing_profile_query() -> tuple[str, ModelColumns, ModelColumns]:
    """Every invoice issued reads it: written once (core/rows.py; decision 0021)."""
    profiles, accounts = ModelColumns(BillingProfile, "p"), ModelColumns(Account, "a")
    sql = (
        f"SELECT {profiles.select}, {accounts.select} FROM {profiles.table} "  # noqa: S608 (names from the model)
        f"JOIN {accounts.table} ON a.id = p.account_id WHERE p.account_id = %s"
    )
    return sql, profiles, accounts


def billing_profile_as_loaded(*, account: Account) -> BillingProfile:
    """The profile loaded with the account at the start of this request (the API's token
    lookup brings it; read once more otherwise), for a read that only shows it. After a write,
    read it again with billing_profile_get."""
    return account.billing_profile


def api_token_list(*, account: Account) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(account=account).select_related("user")


def api_token_get(*, account: Account, token_id: int) -> ApiToken:
    token = api_token_list(account=account).filter(pk=token_id).first()
    if token is None:
        raise NotFound("No such API token in this account.")
    return token


def account_list() -> QuerySet[Account]:
    """All customer accounts: for operator staff and operator tokens only."""
    return Account.objects.select_related("billing_profile")


def account_get(*, account_id: int) -> Account:
    account = account_list().filter(pk=account_id).first()
    if account is None:
        raise NotFound("No such account.")
    return account


def account_has_money_recorded(*, account: Account, currency: str) -> bool:
    """Whether any money is recorded for the account in `currency`: asks every app that
    holds money, as each registered itself in accounts.money_checks."""
    return money_checks.money_recorded(account=account, currency=currency)


def billing_currencies(*, account_ids: Collection[int]) -> dict[int, str]:
    """The billing currency of each of these accounts that has a billing profile: what a
    statement import needs of thousands of accounts at once."""
    if not account_ids:
        return {}
    if connection.vendor != "postgresql":
        profiles = BillingProfile.objects.filter(account_id__in=account_ids)
        return dict(profiles.values_list("account_id", "currency"))
    # One array parameter, not thousands of constants (IN): 0.5-0.9 s less a batch of
    # 10,000 credits, planning the list (docs/benchmarks.md).
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT account_id, currency FROM {BillingProfile._meta.db_table} "  # noqa: S608
            "WHERE account_id = ANY(%s)",
            [list(account_ids)],
        )
        return dict(cursor.fetchall())
