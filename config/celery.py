"""Celery: background work on RabbitMQ or Redis when BILLTONE_BROKER_URL is set; without a
broker, tasks run in-process (eagerly) right after the transaction that scheduled them."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("billtone")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
