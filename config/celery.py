"""Celery: background work on RabbitMQ or Redis when BILLTONE_BROKER_URL is set; without a
broker, on kombu's filesystem transport (messages as files in BILLTONE_QUEUE_DIR), consumed
by the worker scripts/serve.sh starts (docs/decisions/0011-*)."""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("billtone")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _queue_folders(sender, **kwargs) -> None:
    """The filesystem transport needs its folders made beforehand."""
    options = sender.conf.broker_transport_options or {}
    if str(sender.conf.broker_url).startswith("filesystem:"):
        for key in ("data_folder_in", "data_folder_out", "control_folder"):
            if options.get(key):
                Path(options[key]).mkdir(parents=True, exist_ok=True)
