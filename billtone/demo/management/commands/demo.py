from django.core.management.base import BaseCommand

from billtone.demo.services import demo_create


class Command(BaseCommand):
    help = "Create the demo operator and customer accounts (safe to run again)."

    def handle(self, *args, **options):
        logins = demo_create()
        self.stdout.write("Demo logins (http://127.0.0.1:8000):")
        for login in logins:
            self.stdout.write(f"  {login.who:38} {login.username:24} {login.password}  {login.url}")
