from .env import env_int, env_list, env_str

# Currencies the operator enables for customers' preferred currency (ISO 4217).
BILLTONE_CURRENCIES = env_list("BILLTONE_CURRENCIES", "EUR,USD,GBP")
BILLTONE_DEFAULT_CURRENCY = env_str("BILLTONE_DEFAULT_CURRENCY", BILLTONE_CURRENCIES[0])
BILLTONE_OPERATOR_NAME = env_str("BILLTONE_OPERATOR_NAME", "Billtone Telecom")
# Idempotency keys on POST are kept at least this long (and purged after it).
BILLTONE_IDEMPOTENCY_TTL_HOURS = env_int("BILLTONE_IDEMPOTENCY_TTL_HOURS", 48)
