"""The demo operator's inventory of numbers (issue 17), imported through the telephony
services as the back office's import does: five numbers for each number product of the
demo catalog; and a customer's first phone user, on Pay As You Go (free, so active without
a checkout). Safe to run again: a product that has numbers already gets none, an account
with users no more."""

from billtone.accounts.models import Account
from billtone.catalog.models import Product
from billtone.core.services import Actor
from billtone.telephony.models import PhoneNumber, PhoneUser
from billtone.telephony.services import numbers_import, phone_user_create

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


def demo_phone_user(account: Account, actor: Actor) -> PhoneUser | None:
    """The account's reception on Pay As You Go (extension 10), unless it has users."""
    plan = Product.objects.filter(code="pay-as-you-go").first()
    if plan is None or PhoneUser.objects.filter(account=account).exists():
        return None
    return phone_user_create(
        account=account,
        name="Reception",
        email="reception@acme.example",
        extension="10",
        plan=plan,
        actor=actor,
    )
