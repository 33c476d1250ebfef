"""Bench customers written in bulk, untimed: accounts with a Dutch billing profile (EUR,
Europe/Amsterdam), as the checkout, bill-run and CDR benchmarks need them. Call after
django.setup()."""


def dutch_customers_create(*, count: int, label: str = "Bench customer", start: int = 0):
    """`count` accounts named "<label> <n>" (n from `start`), each with its billing profile;
    returns the accounts."""
    from billtone.accounts.models import Account, BillingProfile
    from billtone.core import clock

    now = clock.now()
    accounts = Account.objects.bulk_create(
        [Account(name=f"{label} {start + n}", created_at=now) for n in range(count)]
    )
    BillingProfile.objects.bulk_create(
        [
            BillingProfile(
                account=account,
                company_name=account.name,
                address_line1="Damrak 1",
                city="Amsterdam",
                postal_code="1012 LG",
                country="NL",
                currency="EUR",
                timezone="Europe/Amsterdam",
                billing_email=f"billing{account.pk}@bench.example",
                updated_at=now,
            )
            for account in accounts
        ]
    )
    return accounts
