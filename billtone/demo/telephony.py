"""The demo operator's inventory of numbers (issue 17), imported through the telephony
services as the back office's import does: five numbers for each number product of the
demo catalog. Safe to run again: a product that has numbers already gets none."""

from billtone.catalog.models import Product
from billtone.core.services import Actor
from billtone.telephony.models import PhoneNumber
from billtone.telephony.services import numbers_import

NUMBERS_EACH = 5
# (country, number type) → the first digits of its demo numbers; the last digit counts up.
# Valid numbers by libphonenumber's data (ranges set aside for drama where there is one).
NUMBER_STEMS = {
    ("NL", "geographic"): "+3120555010",
    ("NL", "national"): "+3185123456",
    ("NL", "mobile"): "+3161234560",
    ("NL", "toll_free"): "+318001234",
    ("DE", "geographic"): "+49301234567",
    ("DE", "mobile"): "+49170123456",
    ("DE", "toll_free"): "+49800123456",
    ("GB", "geographic"): "+44207946010",
    ("GB", "mobile"): "+44740012345",
    ("GB", "toll_free"): "+44800123450",
    ("US", "geographic"): "+1212555010",
    ("US", "mobile"): "+1415555010",
    ("US", "toll_free"): "+1800555010",
}


def demo_numbers(actor: Actor) -> int:
    """Numbers for every number product that has a stem above and no numbers yet; returns
    how many were added."""
    added = 0
    for product in Product.objects.filter(kind=Product.Kind.NUMBER).order_by("position", "pk"):
        stem = NUMBER_STEMS.get((product.number_country, product.number_type))
        if stem is None or PhoneNumber.objects.filter(product=product).exists():
            continue
        added += numbers_import(
            text="\n".join(f"{stem}{n}" for n in range(NUMBERS_EACH)),
            country=product.number_country,
            number_type=product.number_type,
            actor=actor,
        )
    return added
