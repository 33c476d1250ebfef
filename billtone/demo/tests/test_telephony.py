from billtone.core.services import Actor
from billtone.demo.catalog import demo_catalog
from billtone.demo.telephony import NUMBERS_EACH, demo_numbers, demo_phone_user
from billtone.telephony.models import PhoneNumber


def test_every_demo_number_product_gets_numbers_once(db):
    actor = Actor.system("demo")
    demo_catalog(actor)
    added = demo_numbers(actor)
    assert demo_numbers(actor) == 0  # safe to run again
    by_product = {}
    for number in PhoneNumber.objects.select_related("product"):
        assert (number.country, number.number_type) == (
            number.product.number_country,
            number.product.number_type,
        )
        by_product.setdefault(number.product.code, []).append(number.status)
    assert added == len(by_product) * NUMBERS_EACH
    assert {"nl-geographic", "de-mobile", "gb-toll-free", "us-geographic"} <= set(by_product)
    assert all(statuses == ["available"] * NUMBERS_EACH for statuses in by_product.values())


def test_the_demo_account_gets_one_active_pay_as_you_go_user_once(account):
    actor = Actor.system("demo")
    demo_catalog(actor)
    user = demo_phone_user(account, actor)
    assert (user.extension, user.plan.code, user.status) == ("10", "pay-as-you-go", "active")
    assert demo_phone_user(account, actor) is None
