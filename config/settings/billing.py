from .env import env_int, env_list, env_str

# Currencies the operator enables for customers' preferred currency (ISO 4217).
BILLTONE_CURRENCIES = env_list("BILLTONE_CURRENCIES", "EUR,USD,GBP")
BILLTONE_DEFAULT_CURRENCY = env_str("BILLTONE_DEFAULT_CURRENCY", BILLTONE_CURRENCIES[0])
BILLTONE_OPERATOR_NAME = env_str("BILLTONE_OPERATOR_NAME", "Billtone Telecom")
# Idempotency keys on POST are kept at least this long (and purged after it).
BILLTONE_IDEMPOTENCY_TTL_HOURS = env_int("BILLTONE_IDEMPOTENCY_TTL_HOURS", 48)

# Add business funds by bank transfer (amounts in the account's currency).
BILLTONE_BANK_TRANSFER_PRESET_AMOUNTS = env_list(
    "BILLTONE_BANK_TRANSFER_PRESET_AMOUNTS", "50,100,250,500,1000"
)
BILLTONE_BANK_TRANSFER_MIN_AMOUNT = env_str("BILLTONE_BANK_TRANSFER_MIN_AMOUNT", "10")
BILLTONE_BANK_TRANSFER_MAX_AMOUNT = env_str("BILLTONE_BANK_TRANSFER_MAX_AMOUNT", "50000")
# A bank transfer not paid within this many days is marked expired (money still lands).
BILLTONE_BANK_TRANSFER_EXPIRY_DAYS = env_int("BILLTONE_BANK_TRANSFER_EXPIRY_DAYS", 14)

# Bank statement files: the largest imported (back-office upload and `billtone
# import-statement`), refused before it is read. An upload is never stored past this size
# (billtone.reconciliation.upload_limit), and only uploads under Django's 2.5 MB default are held
# in memory, larger ones are written to a temporary file as they arrive.
BILLTONE_STATEMENT_MAX_BYTES = env_int("BILLTONE_STATEMENT_MAX_BYTES", 100_000_000)
FILE_UPLOAD_HANDLERS = [
    "billtone.reconciliation.upload_limit.UploadSizeLimit",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # Django's default, said here: files above go to disk
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # the request's other fields (files not counted)

# The Billing panel's address as customers reach it: links in emails (a dunning reminder's
# "Pay" link) start with it.
BILLTONE_PANEL_URL = env_str("BILLTONE_PANEL_URL", "http://127.0.0.1:8000").rstrip("/")
