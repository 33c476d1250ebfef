"""Access to the Billing panel: owners and billing admins of their own account."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from billtone.accounts.permissions import can_use_billing
from billtone.accounts.selectors import membership_for_user


def billing_required(view):
    """Sets request.membership and request.account; 403 for anyone without billing rights."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        membership = membership_for_user(request.user)
        if not can_use_billing(membership):
            raise PermissionDenied(
                "Only the account's owners and billing admins may use the Billing panel."
            )
        request.membership = membership
        request.account = membership.account
        # Dates and times in the panel are shown in the account's time zone.
        with timezone.override(membership.account.billing_profile.timezone):
            return view(request, *args, **kwargs)

    return wrapper
