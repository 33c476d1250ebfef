from django.core.management.base import BaseCommand

from billtone.payments import selectors, services
from billtone.payments.models import Payment
from billtone.payments.services.shared import RECOVER_AFTER


class Command(BaseCommand):
    help = "Settle card payments whose outcome is unknown by asking the gateway (same key)."

    def handle(self, *args, **options):
        settled = 0
        ids = selectors.payment_stale_ids(older_than=RECOVER_AFTER)
        for payment in Payment.objects.filter(pk__in=ids):
            if services.payment_recover(payment=payment).status != payment.status:
                settled += 1
        self.stdout.write(f"{len(ids)} payment(s) checked, {settled} changed.")
