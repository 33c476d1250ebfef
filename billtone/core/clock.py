"""The one place that reads the time, so tests can freeze it (time-machine)."""

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()
