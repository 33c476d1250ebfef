"""Who may use the Billing panel: owners and billing admins of their own account."""

from billtone.accounts.models import Membership


def can_use_billing(membership: Membership | None) -> bool:
    return membership is not None and membership.can_bill
