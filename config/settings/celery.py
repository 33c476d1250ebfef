from .base import BASE_DIR
from .env import env_bool, env_int, env_str

# Background work (docs/decisions/0011-background-worker-without-a-broker.md): Celery on
# RabbitMQ or Redis when BILLTONE_BROKER_URL is set; without one, Celery on kombu's
# filesystem transport, messages as files in BILLTONE_QUEUE_DIR, consumed by the worker that
# scripts/serve.sh starts beside the web server (`celery -A config worker --beat`).
CELERY_BROKER_URL = env_str("BILLTONE_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    _QUEUE_DIR = env_str("BILLTONE_QUEUE_DIR", str(BASE_DIR / "var" / "queue"))
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": _QUEUE_DIR,
        "data_folder_out": _QUEUE_DIR,
        "control_folder": f"{_QUEUE_DIR}/control",
    }
# Every task run in-process, right when it is scheduled (an upload then holds its request, an
# import command sends its emails before it ends): for test servers started as subprocesses.
# Bill runs fan their chunks out to the workers when a real broker is set (decision 0023);
# on the filesystem queue they bill in the process that runs them.
BILLTONE_BILL_RUN_FAN_OUT = env_bool(
    "BILLTONE_BILL_RUN_FAN_OUT", CELERY_BROKER_URL != "filesystem://"
)
# Processes sharing a broker with others (a test, a second installation) name their queue.
CELERY_TASK_DEFAULT_QUEUE = env_str("BILLTONE_CELERY_QUEUE", "celery")
CELERY_TASK_ALWAYS_EAGER = env_bool("BILLTONE_TASKS_EAGER")
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE = {
    "email-retry": {"task": "billtone.notifications.tasks.email_retry", "schedule": 300.0},
    # Often: a webhook's first retry is due 5 seconds after the failure.
    "webhook-retry": {"task": "billtone.notifications.tasks.webhook_retry", "schedule": 30.0},
    "bank-transfers-expire": {
        "task": "billtone.banktransfers.tasks.bank_transfers_expire",
        "schedule": 3600.0,
    },
    "reconciliation-funds-emails": {
        "task": "billtone.reconciliation.tasks.funds_received_emails_sweep",
        "schedule": 300.0,
    },
    "reconciliation-uploads-stalled": {
        "task": "billtone.reconciliation.tasks.statement_uploads_stalled_sweep",
        "schedule": 300.0,
    },
    "payments-recover-stale": {
        "task": "billtone.payments.tasks.payments_recover_stale",
        "schedule": 300.0,
    },
    # After payments-recover-stale settles a card payment whose outcome was unknown.
    "basket-checkouts-settle": {
        "task": "billtone.basket.tasks.checkouts_settle_due",
        "schedule": 60.0,
    },
    "telephony-holds-lapse": {
        "task": "billtone.telephony.tasks.holds_lapse",
        "schedule": 60.0,
    },
    "telephony-cancellations-finish": {
        "task": "billtone.telephony.tasks.cancellations_finish",
        "schedule": 900.0,
    },
    "invoicing-pdfs-sweep": {
        "task": "billtone.invoicing.tasks.invoice_pdfs_sweep",
        "schedule": 300.0,
    },
    # Bills are issued at midnight in each account's time zone: a run every 15 minutes
    # bills each zone soon after its moment; one with nothing due ends at once; one still
    # running makes the next skip.
    "billing-bill-run": {
        "task": "billtone.billing.tasks.bill_run_task",
        "schedule": 60.0 * env_int("BILLTONE_BILL_RUN_MINUTES", 15),
    },
    # Dunning tries are due at issue + N days, at any hour: an hourly run is soon enough.
    "billing-dunning": {
        "task": "billtone.billing.tasks.dunning_run_task",
        "schedule": 3600.0,
    },
    # Expired call holds count nowhere; deleted so that the table stays small.
    "rating-call-holds-purge": {
        "task": "billtone.rating.hold_tasks.call_holds_purge_task",
        "schedule": 600.0,
    },
    # Card top-ups whose outcome the gateway did not tell are asked again and settled.
    "rating-top-ups-settle": {
        "task": "billtone.rating.topup_tasks.top_ups_settle_due_task",
        "schedule": 300.0,
    },
    "cards-expiry-notify": {
        "task": "billtone.payments.tasks.card_expiry_notify",
        "schedule": 86400.0,
    },
}
