from django.core.management.base import BaseCommand

from billtone.banktransfers.services import bank_transfer_expire_due


class Command(BaseCommand):
    help = "Mark bank transfers past BILLTONE_BANK_TRANSFER_EXPIRY_DAYS as expired."

    def handle(self, *args, **options):
        self.stdout.write(f"Expired {bank_transfer_expire_due()} bank transfers.")
