"""localstripe (the Stripe API emulator in the dev extra), with the changes our tests need.

Run: ``python -m billtone.payments.tests.localstripe_server --port N --from-scratch``.

localstripe 1.15 answers the stripe 16 package as it is: the package sends form-encoded v1
calls that localstripe knows, and localstripe ignores the Stripe-Version header, so no API
version needs pinning. For the calls the Stripe gateway makes, it differs from Stripe in:

- PaymentIntent ``description``: Stripe takes it; localstripe answers 400 "Unexpected
  description". Patched: taken and stored.
- ``GET /v1/payment_intents?customer=``: Stripe filters by customer and lists newest first;
  localstripe takes no filter (400 "Unexpected customer") and lists oldest first. Patched.
- After every write it pickles its whole store to /tmp/localstripe.pickle, one path for every
  localstripe on the machine. Each test run starts from scratch, so that is turned off.

Left as it is, and relied on by the tests: localstripe ignores the Idempotency-Key header (a
repeated request makes a second object), so the gateway's own look-up is what prevents a
second charge; and it declines the decline test cards when they are attached to a customer
(Stripe does too), so only 4000 0000 0000 0341 is declined when charged.
"""

from localstripe import resources, server

_payment_intent_init = resources.PaymentIntent.__init__


def _payment_intent_init_with_description(self, *args, description=None, **kwargs):
    _payment_intent_init(self, *args, **kwargs)
    self.description = description


def _payment_intents_list(cls, url, customer=None, limit=None, starting_after=None, **kwargs):
    page = resources.StripeObject._api_list_all.__func__(
        cls, url, limit=limit, starting_after=starting_after, **kwargs
    )
    page._list = [intent for intent in reversed(page._list) if customer in (None, intent.customer)]
    return page


resources.PaymentIntent.__init__ = _payment_intent_init_with_description
resources.PaymentIntent._api_list_all = classmethod(_payment_intents_list)
resources.Store.dump_to_disk = lambda self: None

if __name__ == "__main__":
    server.start()
