from billtone.rating.models import AutoTopUp, TopUp
from billtone.rating.tests.topup_fixtures import committed, credit

URL = "/billing/auto-top-up/"


def test_the_page_saves_settings_and_lists_top_ups(web, account, customer):
    page = web.get(URL)
    assert page.status_code == 200
    assert b'id="auto-top-up-form"' in page.content and b"No automatic top-ups yet" in page.content
    credit(account, "1")
    with committed():  # turning it on checks the credit after commit
        saved = web.post(URL, {"enabled": "on", "value": "20.00", "threshold": "5"})
    assert saved.status_code == 302
    setting = AutoTopUp.objects.get(account=account)
    assert setting.enabled and setting.value == 20
    page = web.get(URL)
    top_up = TopUp.objects.get(account=account)  # no funds, no card: a failure, shown
    assert f'id="top-up-{top_up.pk}"'.encode() in page.content
    assert b"no card may be charged" in page.content


def test_a_bad_value_is_shown_beside_its_field_and_nothing_changes(web, account):
    answer = web.post(URL, {"enabled": "on", "value": "15", "threshold": "abc"})
    assert answer.status_code == 200
    assert b'id="error-value"' in answer.content and b'id="error-threshold"' in answer.content
    assert b"Nothing was changed" in answer.content
    assert not AutoTopUp.objects.filter(account=account, enabled=True).exists()


def test_the_turned_off_notice_and_the_overview_link(web, account):
    AutoTopUp.objects.create(
        account=account,
        currency="EUR",
        enabled=False,
        turned_off_reason="Auto top-up was turned off after 3 failed top-ups in a row.",
        updated_at=account.created_at,
    )
    page = web.get(URL)
    assert b'id="auto-top-up-turned-off"' in page.content
    assert b"turned off after 3 failed top-ups" in page.content
    overview = web.get("/")
    assert b'id="call-credit-auto-top-up"' in overview.content
