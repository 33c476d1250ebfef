"""Demo data: an operator with bank details and two customer accounts."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from billtone.accounts.models import Account, Membership
from billtone.accounts.services import (
    BillingProfileInput,
    account_create,
    billing_profile_update,
    member_add,
)
from billtone.banktransfers.services import BankAccountInput, bank_account_save
from billtone.core.services import Actor

DEMO_PASSWORD = "billtone-demo"


@dataclass(frozen=True)
class DemoLogin:
    who: str
    username: str
    password: str
    url: str


DEMO_LOGINS = [
    DemoLogin("operator staff (back office)", "operator", DEMO_PASSWORD, "/admin/"),
    DemoLogin("Acme Telecom GmbH owner", "owner@acme.example", DEMO_PASSWORD, "/"),
    DemoLogin("Globex Ltd owner", "owner@globex.example", DEMO_PASSWORD, "/"),
    DemoLogin("Acme member without billing rights", "member@acme.example", DEMO_PASSWORD, "/"),
]


@transaction.atomic
def demo_create() -> list[DemoLogin]:
    """Create the demo data once; running again changes nothing."""
    actor = Actor.system("demo")
    User = get_user_model()
    if not User.objects.filter(username="operator").exists():
        User.objects.create_superuser("operator", "operator@billtone.example", DEMO_PASSWORD)
    bank_account_save(
        data=BankAccountInput(
            currency="EUR",
            account_holder="Billtone Telecom B.V.",
            iban="NL91ABNA0417164300",
            bic="ABNANL2A",
            bank_name="ABN AMRO Bank N.V.",
            bank_address="Gustav Mahlerlaan 10, 1082 PP Amsterdam, Netherlands",
        )
    )
    bank_account_save(
        data=BankAccountInput(
            currency="GBP",
            account_holder="Billtone Telecom Ltd",
            iban="GB33BUKB20201555555555",
            bic="BUKBGB22",
            bank_name="Barclays Bank UK PLC",
            bank_address="1 Churchill Place, London E14 5HP, United Kingdom",
        )
    )
    if not Account.objects.filter(name="Acme Telecom GmbH").exists():
        acme = account_create(
            name="Acme Telecom GmbH",
            owner_email="owner@acme.example",
            owner_password=DEMO_PASSWORD,
            currency="EUR",
            timezone="Europe/Berlin",
            actor=actor,
        )
        billing_profile_update(
            account=acme,
            actor=actor,
            data=BillingProfileInput(
                company_name="Acme Telecom GmbH",
                billing_email="billing@acme.example",
                currency="EUR",
                timezone="Europe/Berlin",
                address_line1="Friedrichstraße 68",
                city="Berlin",
                postal_code="10117",
                country="DE",
                tax_id="DE136695976",
            ),
        )
        member_add(
            account=acme,
            email="member@acme.example",
            password=DEMO_PASSWORD,
            role=Membership.Role.MEMBER,
            actor=actor,
        )
    if not Account.objects.filter(name="Globex Ltd").exists():
        globex = account_create(
            name="Globex Ltd",
            owner_email="owner@globex.example",
            owner_password=DEMO_PASSWORD,
            currency="GBP",
            timezone="Europe/London",
            actor=actor,
        )
        billing_profile_update(
            account=globex,
            actor=actor,
            data=BillingProfileInput(
                company_name="Globex Ltd",
                billing_email="accounts@globex.example",
                currency="GBP",
                timezone="Europe/London",
                address_line1="12 Chapel Street",
                city="Manchester",
                postal_code="M3 5JZ",
                country="GB",
            ),
        )
    return DEMO_LOGINS
