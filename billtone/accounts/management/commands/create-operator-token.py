from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from billtone.accounts.services import operator_token_create
from billtone.core.errors import ApplicationError


class Command(BaseCommand):
    help = "Issue an API token for the operator's own systems, owned by a staff user."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="operator systems")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        try:
            issued = operator_token_create(user=user, name=name)
        except ApplicationError as error:
            raise CommandError(error.detail) from None
        self.stdout.write("Operator token (shown once, store it now):")
        self.stdout.write(issued.secret)
