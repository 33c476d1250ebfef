from billtone.accounts.models import Account
from billtone.accounts.selectors import billing_currencies
from billtone.core import clock


def test_billing_currencies_of_many_accounts_at_once(account, other_account):
    no_profile = Account.objects.create(name="Not set up yet", created_at=clock.now())

    found = billing_currencies(account_ids={account.pk, other_account.pk, no_profile.pk})

    assert found == {account.pk: "EUR", other_account.pk: "GBP"}
    assert billing_currencies(account_ids=[]) == {}
