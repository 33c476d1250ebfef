from django.core.management.base import BaseCommand

from billtone.core.idempotency import idempotency_keys_purge


class Command(BaseCommand):
    help = "Delete Idempotency-Key records older than BILLTONE_IDEMPOTENCY_TTL_HOURS."

    def handle(self, *args, **options):
        self.stdout.write(f"Purged {idempotency_keys_purge()} idempotency keys.")
