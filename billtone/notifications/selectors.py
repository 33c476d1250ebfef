from django.db.models import QuerySet

from billtone.accounts.models import Account
from billtone.notifications.models import EmailDelivery


def email_delivery_list(*, account: Account) -> QuerySet[EmailDelivery]:
    return EmailDelivery.objects.filter(account=account)
