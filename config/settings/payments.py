"""Card payments: which gateway takes cards (billtone/payments/gateways)."""

from .env import env_str

# sandbox (the default: test cards only, no network) or stripe.
BILLTONE_PAYMENT_GATEWAY = env_str("BILLTONE_PAYMENT_GATEWAY", "sandbox")
# A secret key (sk_live_... or sk_test_...); required with BILLTONE_PAYMENT_GATEWAY=stripe.
STRIPE_API_KEY = env_str("STRIPE_API_KEY")
# Where Stripe's API answers; tests point it at a local emulator.
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "https://api.stripe.com")
# Pins the Stripe API version; empty: the version the installed stripe package was built for.
STRIPE_API_VERSION = env_str("STRIPE_API_VERSION")
