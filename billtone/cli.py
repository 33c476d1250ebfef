"""The `billtone` console command: Django's management commands under one name.

`billtone demo`, `billtone migrate`, `billtone runserver`, `billtone import-statement FILE`, ...
"""

import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv if argv is None else argv)
    argv[0] = "billtone"
    execute_from_command_line(argv)
    return 0
