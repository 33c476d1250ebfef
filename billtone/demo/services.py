"""Demo data: an operator with bank details, its catalog (demo/catalog.py) and two customer
accounts, with money recorded through the apps' own services (a statement import, a saved
card), the first customer's shopping (demo/basket.py: a paid checkout and its invoice, a
basket in progress) and the second's unpaid monthly bill (demo/billing.py)."""

import io
import json
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model

from billtone.accounts.models import Account, Membership
from billtone.accounts.services import (
    BillingProfileInput,
    account_create,
    billing_profile_update,
    member_add,
)
from billtone.banktransfers.models import BankTransfer
from billtone.banktransfers.references import reference_format
from billtone.banktransfers.services import (
    BankAccountInput,
    bank_account_save,
    bank_transfer_create,
)
from billtone.core import clock
from billtone.core.services import Actor
from billtone.demo.basket import demo_basket_waiting, demo_checkout
from billtone.demo.billing import demo_open_bill
from billtone.demo.catalog import demo_catalog
from billtone.demo.rating import demo_calls, demo_rate_decks
from billtone.demo.telephony import demo_numbers, demo_phone_user
from billtone.payments.selectors import card_list
from billtone.payments.services import card_add
from billtone.reconciliation.services.csv_maps import CsvMapInput, csv_map_save
from billtone.reconciliation.services.imports import statement_import

DEMO_PASSWORD = "billtone-demo"


# A German bank's CSV export, described once by the operator: offered on the back office's
# statement upload for the EUR account.
DEMO_CSV_COLUMNS = {
    "booking_date": "Buchungstag",
    "value_date": "Valuta",
    "amount": "Betrag",
    "default_currency": "EUR",
    "payer_name": "Auftraggeber",
    "payer_iban": "IBAN",
    "reference": "Verwendungszweck",
    "entry_id": "Buchungs-ID",
    "delimiter": ";",
    "decimal_comma": True,
    "date_format": "%d.%m.%Y",
}


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


DEMO_STATEMENT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<GrpHdr><MsgId>DEMO-1</MsgId><CreDtTm>{today}T06:00:00</CreDtTm></GrpHdr>
<Stmt><Id>DEMO-STATEMENT-1</Id><CreDtTm>{today}T06:00:00</CreDtTm>
<Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
<BookgDt><Dt>{today}</Dt></BookgDt><ValDt><Dt>{today}</Dt></ValDt>
<AcctSvcrRef>DEMO-ENTRY-1</AcctSvcrRef><NtryDtls><TxDtls>
<Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs><Amt Ccy="EUR">{amount}</Amt>
<RltdPties><Dbtr><Pty><Nm>Acme Telecom GmbH</Nm></Pty></Dbtr>
<DbtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id></DbtrAcct></RltdPties>
<RmtInf><Ustrd>Acme Telecom top-up {reference}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
</Stmt></BkToCstmrStmt></Document>
"""


def _demo_money(account: Account, actor: Actor) -> None:
    """Business funds that arrived by bank transfer (through a real statement import), a
    transfer still awaited, and a saved sandbox card."""
    if not BankTransfer.objects.filter(account=account).exists():
        paid = bank_transfer_create(
            account=account, amount="500.00", actor=actor, idempotency_key="demo-received"
        )
        bank_transfer_create(
            account=account, amount="250.00", actor=actor, idempotency_key="demo-awaited"
        )
        statement = DEMO_STATEMENT.format(
            today=clock.now().date().isoformat(),
            amount="500.00",
            reference=reference_format(paid.reference),
        )
        statement_import(
            source=io.BytesIO(statement.encode()), name="demo-statement.xml", actor=actor
        )
    if settings.BILLTONE_PAYMENT_GATEWAY == "sandbox" and not card_list(account=account).exists():
        card_add(
            account=account,
            number="4242424242424242",
            exp_month=12,
            exp_year=clock.now().year + 3,
            cvc="123",
            holder_name="Anna Schmidt",
            actor=actor,
            make_default=True,
        )


def demo_create() -> list[DemoLogin]:
    """Create the demo data once; running again changes nothing."""
    actor = Actor.system("demo")
    User = get_user_model()
    if not User.objects.filter(username="operator").exists():
        User.objects.create_superuser("operator", "operator@billtone.example", DEMO_PASSWORD)
    eur_bank = bank_account_save(
        data=BankAccountInput(
            currency="EUR",
            account_holder="Billtone Telecom B.V.",
            iban="NL91ABNA0417164300",
            bic="ABNANL2A",
            bank_name="ABN AMRO Bank N.V.",
            bank_address="Gustav Mahlerlaan 10, 1082 PP Amsterdam, Netherlands",
        ),
        actor=actor,
    )
    bank_account_save(
        data=BankAccountInput(
            currency="GBP",
            account_holder="Billtone Telecom Ltd",
            iban="GB33BUKB20201555555555",
            bic="BUKBGB22",
            bank_name="Barclays Bank UK PLC",
            bank_address="1 Churchill Place, London E14 5HP, United Kingdom",
        ),
        actor=actor,
    )
    demo_catalog(actor)
    demo_numbers(actor)
    if not eur_bank.csv_maps.exists():
        columns = json.dumps(DEMO_CSV_COLUMNS)
        data = CsvMapInput(bank_account_id=eur_bank.pk, name="Bank CSV export", columns=columns)
        csv_map_save(map_id=None, data=data, actor=actor)
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
    acme = Account.objects.select_related("billing_profile").get(name="Acme Telecom GmbH")
    _demo_money(acme, actor)
    demo_phone_user(acme, actor)
    demo_checkout(acme, actor)
    demo_basket_waiting(acme, actor)
    demo_rate_decks(actor)
    demo_calls(acme, actor)
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
    globex = Account.objects.select_related("billing_profile").get(name="Globex Ltd")
    demo_open_bill(globex, actor)
    return DEMO_LOGINS
