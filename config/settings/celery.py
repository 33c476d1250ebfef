from .env import env_str

CELERY_BROKER_URL = env_str("BILLTONE_BROKER_URL")  # amqp://... or redis://...
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE = {
    "email-retry": {"task": "billtone.notifications.tasks.email_retry", "schedule": 300.0},
    "bank-transfers-expire": {
        "task": "billtone.banktransfers.tasks.funding_requests_expire",
        "schedule": 3600.0,
    },
    "bank-transfers-funds-emails": {
        "task": "billtone.banktransfers.tasks.funds_received_emails_sweep",
        "schedule": 300.0,
    },
    "payments-recover-stale": {
        "task": "billtone.payments.tasks.payments_recover_stale",
        "schedule": 300.0,
    },
    "cards-expiry-notify": {
        "task": "billtone.payments.tasks.card_expiry_notify",
        "schedule": 86400.0,
    },
}
