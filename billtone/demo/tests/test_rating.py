"""Calls in the demo (demo/rating.py): a carrier's deck per currency, Acme's calls rated into
call charges, auto top-up on and its first top-up paid from business funds."""

from billtone.accounts.models import Account
from billtone.demo.services import demo_create
from billtone.rating.models import Cdr, RateDeck, TopUp
from billtone.rating.topup_selectors import auto_top_up_get


def test_acme_has_rated_calls_and_a_top_up_and_a_second_run_adds_nothing(db):
    demo_create()
    acme = Account.objects.get(name="Acme Telecom GmbH")
    assert sorted(RateDeck.objects.values_list("currency", flat=True)) == ["EUR", "GBP"]
    cdrs = Cdr.objects.filter(account=acme)
    by_status = {s: cdrs.filter(status=s).count() for s in ("rated", "not_rated", "rejected")}
    assert by_status == {"rated": 8, "not_rated": 4, "rejected": 0}
    assert all(cdr.cost > 0 for cdr in cdrs.filter(status="rated"))
    berlin = cdrs.get(destination="030 12345678")
    assert (berlin.destination_e164, berlin.destination_name) == (
        "+493012345678",
        "Germany - Berlin",
    )
    assert auto_top_up_get(account=acme).enabled
    [top_up] = TopUp.objects.filter(account=acme)
    assert top_up.status == "succeeded" and top_up.invoice_id is not None

    demo_create()
    assert Cdr.objects.filter(account=acme).count() == 12
    assert TopUp.objects.filter(account=acme).count() == 1
