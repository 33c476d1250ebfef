from django.core.management.base import BaseCommand

from billtone.payments.services import card_expiry_notify_due


class Command(BaseCommand):
    help = "Email the billing contact of every card that expires within 30 days (once per card)."

    def handle(self, *args, **options):
        deliveries = card_expiry_notify_due()
        self.stdout.write(f"{len(deliveries)} card(s) expire within 30 days; notices queued.")
