"""Helpers for the statement import tests: small statement files written in tmp_path, and a
customer account with a permanent reference and a bank transfer."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from billtone.banktransfers.models import AccountReference, BankTransfer
from billtone.banktransfers.services import account_reference_get_or_create, bank_transfer_create
from billtone.core.services import Actor
from billtone.ledger.models import LedgerAccount, LedgerKind

STAFF = Actor.system("test import")
ACCOUNT_IBAN = "NL91ABNA0417164300"
PAYER_IBAN = "DE02120300000000202051"
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Credit:
    amount: str
    ustrd: tuple[str, ...] = ()
    ref: str = ""  # structured creditor reference
    payer: str = "Acme Telecom GmbH"
    iban: str = PAYER_IBAN
    currency: str = "EUR"
    direction: str = "CRDT"
    bank_ref: str | None = None  # None: a new unique one
    booked: str = "2025-03-14"
    status: str = "BOOK"
    reversal: bool = False


def _party(version: str, role: str, name: str, iban: str) -> str:
    inner = f"<Nm>{name}</Nm>"
    wrapped = f"<Pty>{inner}</Pty>" if version >= "08" else inner
    return f"<{role}>{wrapped}</{role}><{role}Acct><Id><IBAN>{iban}</IBAN></Id></{role}Acct>"


def _ntry(version: str, c: Credit) -> str:
    bank_ref = c.bank_ref if c.bank_ref is not None else f"BANK-{next(_numbers)}"
    status = f"<Sts><Cd>{c.status}</Cd></Sts>" if version >= "08" else f"<Sts>{c.status}</Sts>"
    if version >= "04":
        amt = f'<Amt Ccy="{c.currency}">{c.amount}</Amt>'
    else:
        amt = f'<AmtDtls><TxAmt><Amt Ccy="{c.currency}">{c.amount}</Amt></TxAmt></AmtDtls>'
    strd = (
        "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
        f"<Ref>{c.ref}</Ref></CdtrRefInf></Strd>"
        if c.ref
        else ""
    )
    rmt = "".join(f"<Ustrd>{u}</Ustrd>" for u in c.ustrd) + strd
    role = "Dbtr" if c.direction == "CRDT" else "Cdtr"
    return (
        f'<Ntry><Amt Ccy="{c.currency}">{c.amount}</Amt><CdtDbtInd>{c.direction}</CdtDbtInd>'
        f"{'<RvslInd>true</RvslInd>' if c.reversal else ''}{status}"
        f"<BookgDt><Dt>{c.booked}</Dt></BookgDt><ValDt><Dt>{c.booked}</Dt></ValDt>"
        f"{f'<AcctSvcrRef>{bank_ref}</AcctSvcrRef>' if bank_ref else ''}"
        "<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
        f"{amt}<RltdPties>{_party(version, role, c.payer, c.iban)}</RltdPties>"
        f"{f'<RmtInf>{rmt}</RmtInf>' if rmt else ''}</TxDtls></NtryDtls></Ntry>"
    )


def camt053(
    folder: Path,
    *credits: Credit,
    version: str = "08",
    name: str = "statement.xml",
    statement_id: str = "STMT-1",
) -> Path:
    """A camt.053.001.<version> statement of `credits`, written to folder/name."""
    ns = f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}"
    text = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ns}"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>M1</MsgId><CreDtTm>2025-03-15T06:00:00</CreDtTm></GrpHdr>\n"
        f"<Stmt><Id>{statement_id}</Id><CreDtTm>2025-03-15T06:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{ACCOUNT_IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>\n"
        + "\n".join(_ntry(version, c) for c in credits)
        + "\n</Stmt></BkToCstmrStmt></Document>\n"
    )
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class Customer:
    account: object
    reference: AccountReference
    request: BankTransfer

    @property
    def funds(self) -> Decimal:
        row = LedgerAccount.objects.filter(
            account=self.account, kind=LedgerKind.BUSINESS_FUNDS
        ).first()
        return row.balance if row is not None else Decimal(0)


def customer_make(account, amount: str = "250.00") -> Customer:
    reference = account_reference_get_or_create(account=account)
    request = bank_transfer_create(account=account, amount=amount, actor=STAFF)
    return Customer(account=account, reference=reference, request=request)


def import_callbacks(callbacks) -> list:
    """The after-commit callbacks the import itself scheduled: without the ledger's notice
    that business funds were credited (ledger.hooks, which billing listens to)."""
    return [c for c in callbacks if getattr(c, "func", c).__module__ != "billtone.ledger.hooks"]
