from django.core.management.base import BaseCommand

from billtone.demo.services import demo_create


def logins_box(logins, *, url: str) -> str:
    """The demo logins in a box, for a newcomer to find at the end of the run command."""
    lines = [f"Billtone is running: {url}", "", "Demo logins (who, username, password, page):"]
    lines += [f"  {x.who:38} {x.username:22} {x.password}  {x.url}" for x in logins]
    width = max(len(line) for line in lines)
    rule = "+" + "-" * (width + 2) + "+"
    return "\n".join([rule, *(f"| {line:<{width}} |" for line in lines), rule])


class Command(BaseCommand):
    help = "Create the demo operator and customer accounts (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000")

    def handle(self, *args, **options):
        logins = demo_create()
        self.stdout.write(logins_box(logins, url=options["url"]))
