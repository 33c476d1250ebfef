from datetime import timedelta

import pytest
import time_machine

from billtone.core import clock
from billtone.core.errors import NotFound
from billtone.telephony.selectors import number_get_held, numbers_available
from billtone.telephony.services import number_hold

from .conftest import numbers_add, product_with_prices


def test_available_numbers_are_free_ones_and_lapsed_holds(account, nl_geographic):
    free, held, lapsed = numbers_add("+31201234567", "+31201234568", "+31201234569")
    number_hold(account=account, number_id=lapsed.pk)
    with time_machine.travel(clock.now() + timedelta(minutes=20), tick=False):
        number_hold(account=account, number_id=held.pk)
    with time_machine.travel(clock.now() + timedelta(minutes=40), tick=False):
        assert numbers_available(country="nl", number_type="geographic") == [free, lapsed]
        assert numbers_available(number_type="mobile") == []
        with pytest.raises(NotFound, match="hold may have lapsed"):
            number_get_held(account=account, number_id=lapsed.pk)
        assert number_get_held(account=account, number_id=held.pk) == held


def test_available_numbers_in_a_currency_are_those_sold_in_it(nl_geographic):
    product_with_prices(
        code="us-geo",
        kind="number",
        prices={"USD": "1"},
        number_country="US",
        number_type="geographic",
    )
    (nl,) = numbers_add("+31201234567")
    (us,) = numbers_add("+12125550123", country="US")
    assert numbers_available(currency="EUR") == [nl]
    assert numbers_available(currency="USD") == [us]
    assert numbers_available(limit=1) == [nl]
