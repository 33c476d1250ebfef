"""Card gateways behind one interface (base.PaymentGateway), chosen by settings."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import PaymentGateway
from .sandbox import SandboxGateway
from .stripe import StripeGateway


def get_gateway() -> PaymentGateway:
    """The gateway BILLTONE_PAYMENT_GATEWAY names: sandbox (the default) or stripe."""
    name = settings.BILLTONE_PAYMENT_GATEWAY
    if name == "sandbox":
        return SandboxGateway()
    if name == "stripe":
        if not settings.STRIPE_API_KEY:
            raise ImproperlyConfigured("BILLTONE_PAYMENT_GATEWAY=stripe needs STRIPE_API_KEY.")
        return StripeGateway(
            api_key=settings.STRIPE_API_KEY,
            api_base=settings.STRIPE_API_BASE,
            api_version=settings.STRIPE_API_VERSION,
        )
    raise ImproperlyConfigured(
        f"BILLTONE_PAYMENT_GATEWAY is {name!r}; it must be 'sandbox' or 'stripe'."
    )
