from .base import DEBUG
from .env import env_bool, env_int, env_str

# In development without an SMTP host, emails are printed on the console.
EMAIL_BACKEND = env_str(
    "BILLTONE_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG and not env_str("BILLTONE_EMAIL_HOST")
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("BILLTONE_EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("BILLTONE_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("BILLTONE_EMAIL_USER")
EMAIL_HOST_PASSWORD = env_str("BILLTONE_EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("BILLTONE_EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("BILLTONE_EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("BILLTONE_FROM_EMAIL", "billing@billtone.invalid")
# Webhooks (notifications.services.webhooks): how long an endpoint may take to answer, in
# seconds; a slower one counts as a failed attempt and is retried later.
BILLTONE_WEBHOOK_TIMEOUT = env_int("BILLTONE_WEBHOOK_TIMEOUT", 10)
