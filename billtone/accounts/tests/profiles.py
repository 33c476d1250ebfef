"""For the apps' tests of the currency-change check (accounts.money_checks)."""

from billtone.accounts.models import Account, BillingProfile
from billtone.accounts.services import BillingProfileInput, billing_profile_update
from billtone.core.services import Actor


def currency_change(account: Account, currency: str) -> BillingProfile:
    """The account's billing profile as it is, in another currency."""
    profile = BillingProfile.objects.get(account=account)
    return billing_profile_update(
        account=account,
        actor=Actor(label="tester"),
        data=BillingProfileInput(
            company_name=profile.company_name or account.name,
            billing_email=profile.billing_email,
            currency=currency,
            timezone=profile.timezone,
        ),
    )
