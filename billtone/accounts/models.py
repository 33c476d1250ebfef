from django.conf import settings
from django.db import models


class Account(models.Model):
    """The operator's business customer."""

    name = models.CharField(max_length=200)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's place in one account. A user belongs to at most one customer account."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        BILLING_ADMIN = "billing_admin", "Billing admin"
        MEMBER = "member", "Member"

    BILLING_ROLES = frozenset({Role.OWNER, Role.BILLING_ADMIN})

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=["owner", "billing_admin", "member"]),
                name="membership_role_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) in {self.account}"

    @property
    def can_bill(self) -> bool:
        return self.role in self.BILLING_ROLES


class BillingProfile(models.Model):
    """The details printed on invoices and the address of every billing notification."""

    account = models.OneToOneField(
        Account, on_delete=models.CASCADE, related_name="billing_profile"
    )
    company_name = models.CharField(max_length=200)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    region = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    currency = models.CharField(max_length=3, help_text="ISO 4217")
    timezone = models.CharField(max_length=64, default="UTC", help_text="IANA time zone")
    billing_email = models.EmailField()
    tax_id = models.CharField(max_length=40, blank=True, verbose_name="VAT / tax ID")
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(currency__regex=r"^[A-Z]{3}$"), name="profile_currency_iso4217"
            ),
            models.CheckConstraint(
                condition=models.Q(country="") | models.Q(country__regex=r"^[A-Z]{2}$"),
                name="profile_country_iso3166",
            ),
        ]

    def __str__(self) -> str:
        return self.company_name

    @property
    def country_name(self) -> str:
        from billtone.accounts.validation import countries

        return countries().get(self.country, self.country)


class ApiToken(models.Model):
    """A bearer token. Only a hash is stored; the secret is shown once at creation.

    An account token acts as the member who created it (with that member's role, checked on
    every request). An operator token (no account) is for the operator's own systems.
    """

    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="api_tokens"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_operator(self) -> bool:
        return self.account_id is None

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
