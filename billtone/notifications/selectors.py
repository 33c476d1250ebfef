from django.db.models import Count, QuerySet

from billtone.accounts.models import Account
from billtone.notifications.models import EmailDelivery


def email_delivery_list(*, account: Account) -> QuerySet[EmailDelivery]:
    return EmailDelivery.objects.filter(account=account)


def email_delivery_counts(*, keys: QuerySet) -> dict[str, int]:
    """How many deliveries with these keys (a `values("key")` query of the caller's) are in
    each status."""
    counts = (
        EmailDelivery.objects.filter(key__in=keys)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return dict(counts)
