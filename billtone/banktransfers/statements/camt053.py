"""ISO 20022 camt.053 (bank-to-customer statement), versions 001.02 and later.

The file is streamed with lxml's iterparse: each Ntry is read when its end tag arrives,
then cleared and dropped with everything before it, so a statement of 100,000 entries
never sits in memory whole. Elements are matched in the document's own namespace, which
must be camt.053.001.NN; the element names this parser reads are the same in every
version from 001.02 on, except that 001.08 may wrap the debtor in a Pty element.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import BinaryIO

from lxml import etree

from billtone.banktransfers.statements.entries import (
    CURRENCY_RE,
    StatementEntry,
    StatementFormatError,
    StatementSummary,
    Tally,
    iban_like,
)

NAMESPACE_RE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(\d{2})")
_AMOUNT_RE = re.compile(r"[0-9]+(\.[0-9]+)?")

_NAMES = [
    *("Document", "Stmt", "Ntry", "Id", "Acct", "IBAN", "Othr", "Ccy", "Bal", "Tp"),
    *("CdOrPrtry", "Cd", "Amt", "CdtDbtInd", "Dt", "DtTm", "TxsSummry", "TtlCdtNtries"),
    *("TtlDbtNtries", "NbOfNtries", "Sum", "RvslInd", "Sts", "BookgDt", "ValDt"),
    *("AcctSvcrRef", "NtryRef", "AddtlNtryInf", "NtryDtls", "TxDtls", "Refs", "EndToEndId"),
    *("AmtDtls", "TxAmt", "RltdPties", "Dbtr", "Cdtr", "UltmtDbtr", "UltmtCdtr", "DbtrAcct"),
    *("CdtrAcct", "Pty", "Nm", "RmtInf", "Ustrd", "Strd", "CdtrRefInf", "Ref", "AddtlRmtInf"),
    "AddtlTxInf",
]


def read_camt053(
    stream: BinaryIO, name: str, on_statement: Callable[[StatementSummary], None]
) -> Iterator[StatementEntry]:
    """Yield the entries of a camt.053 file; call `on_statement` at the end of each Stmt."""
    context = etree.iterparse(
        stream,
        events=("start", "end"),
        tag=("{*}Document", "{*}Stmt", "{*}Ntry"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
    )
    q: SimpleNamespace | None = None
    tally = Tally()
    header_read = False
    entry_number = 0
    statements = 0
    try:
        for event, elem in context:
            if q is None:
                q = _namespace(elem, name)
            tag = elem.tag
            if event == "start":
                if tag == q.Stmt:
                    tally = Tally(position=f"statement at line {elem.sourceline}")
                    header_read = False
                continue
            if tag == q.Ntry:
                if not header_read:
                    _read_header(elem.getparent(), q, tally, name)
                    header_read = True
                entry_number += 1
                for entry in _entries(elem, q, tally, name, entry_number):
                    tally.add(entry)
                    yield entry
                _drop(elem)
            elif tag == q.Stmt:
                if not header_read:
                    _read_header(elem, q, tally, name)
                    header_read = True
                _check_control_sums(tally)
                statements += 1
                on_statement(tally.summary())
                _drop(elem)
    except etree.XMLSyntaxError as exc:
        raise StatementFormatError(
            name, f"the XML is malformed or truncated ({exc.msg})", line=exc.lineno
        ) from None
    if q is None:
        root = context.root
        raise StatementFormatError(
            name,
            "not a camt.053 statement: the root element is "
            f"{etree.QName(root).localname if root is not None else 'missing'}, not Document.",
        )
    if not statements:
        raise StatementFormatError(name, "the camt.053 document holds no statement (Stmt).")


def _namespace(elem: etree._Element, name: str) -> SimpleNamespace:
    """The tag names in the document's namespace, once the root is known to be camt.053."""
    root = elem.getroottree().getroot()
    qname = etree.QName(root)
    if qname.localname != "Document":
        raise StatementFormatError(
            name,
            f"not a camt.053 statement: the root element is {qname.localname}, not Document.",
            line=root.sourceline,
        )
    if not NAMESPACE_RE.fullmatch(qname.namespace or ""):
        raise StatementFormatError(
            name,
            f"not a camt.053 statement: the namespace is {qname.namespace or 'missing'}, "
            "expected urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN.",
            line=elem.sourceline,
        )
    tags = {n: f"{{{qname.namespace}}}{n}" for n in _NAMES}
    return SimpleNamespace(local={tag: n for n, tag in tags.items()}, **tags)


def _drop(elem: etree._Element) -> None:
    """Free `elem` and every sibling before it: what iterparse has read and we are done with."""
    elem.clear(keep_tail=False)
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


def _child(elem: etree._Element | None, *tags: str) -> etree._Element | None:
    for tag in tags:
        if elem is None:
            return None
        elem = next(elem.iterchildren(tag), None)
    return elem


def _text(elem: etree._Element | None) -> str:
    if elem is None or elem.text is None:
        return ""
    return elem.text.strip()


def _amount(elem: etree._Element | None, name: str, where: str) -> tuple[Decimal, str]:
    text = _text(elem)
    line = elem.sourceline if elem is not None else None
    if not _AMOUNT_RE.fullmatch(text):
        raise StatementFormatError(
            name, f"the amount {text!r} is not a number.", line=line, where=where
        )
    currency = (elem.get("Ccy") or "").strip()
    if not CURRENCY_RE.fullmatch(currency):
        raise StatementFormatError(
            name, f"the amount has no valid currency ({currency!r}).", line=line, where=where
        )
    return Decimal(text), currency


def _read_header(stmt: etree._Element, q: SimpleNamespace, tally: Tally, name: str) -> None:
    """Statement id, account, balances and control sums: the Stmt children before its entries."""
    tally.statement_id = _text(_child(stmt, q.Id))
    acct = _child(stmt, q.Acct)
    iban = _text(_child(acct, q.Id, q.IBAN))
    tally.account_iban = iban_like(iban) or iban.replace(" ", "").upper()
    tally.account_id = tally.account_iban or _text(_child(acct, q.Id, q.Othr, q.Id))
    tally.currency = _text(_child(acct, q.Ccy))
    for bal in stmt.iterchildren(q.Bal):
        code = _text(_child(bal, q.Tp, q.CdOrPrtry, q.Cd))
        amount, currency = _amount(_child(bal, q.Amt), name, f"balance {code}")
        tally.currency = tally.currency or currency
        if _text(_child(bal, q.CdtDbtInd)) == "DBIT":
            amount = -amount
        if code in ("OPBD", "PRCD") and tally.opening_balance is None:
            tally.opening_balance = amount
        elif code == "CLBD" and tally.closing_balance is None:
            tally.closing_balance = amount
    summary = _child(stmt, q.TxsSummry)
    if summary is not None:
        tally.control = [
            (label, _text(_child(part, q.NbOfNtries)), _text(_child(part, q.Sum)))
            for label, part in (
                ("credit", _child(summary, q.TtlCdtNtries)),
                ("debit", _child(summary, q.TtlDbtNtries)),
            )
            if part is not None
        ]


def _check_control_sums(tally: Tally) -> None:
    """TxsSummry against the entries read; real files disagree at times, so a warning."""
    for label, count, total in tally.control:
        actual_count = tally.credit_entries if label == "credit" else tally.debit_entries
        actual_sum = tally.credit_sum if label == "credit" else tally.debit_sum
        if count.isdigit() and int(count) != actual_count:
            tally.problems.append(
                f"The statement's summary gives {count} {label} entries; it holds {actual_count}."
            )
        if total and _AMOUNT_RE.fullmatch(total) and Decimal(total) != actual_sum:
            tally.problems.append(
                f"The statement's summary gives {label} entries summing {total}; "
                f"they sum {actual_sum}."
            )


# Entries are read in one pass over each element's children, matched by qualified tag in
# a dict: with lxml every child access builds a Python object, and one pass costs a
# fraction of what a path lookup per field does (find, iterchildren, XPath).


def _transaction_fields(tx: etree._Element | None, q: SimpleNamespace, is_credit: bool) -> dict:
    """What a TxDtls says: counterparty, references, texts, amount element (None when absent).

    Written out flat: this runs for every transaction of a 100,000-entry file.
    """
    name = ultimate_name = iban = end_to_end = tx_reference = direction = ""
    references: list[str] = []
    free: list[str] = []
    extra: list[str] = []
    additional: list[str] = []
    amount_elem = amount_details = None
    if tx is not None:
        local = q.local
        party, account, ultimate = (
            ("Dbtr", "DbtrAcct", "UltmtDbtr") if is_credit else ("Cdtr", "CdtrAcct", "UltmtCdtr")
        )
        for child in tx:
            tag = local.get(child.tag)
            if tag == "RmtInf":
                for remittance in child:
                    remittance_tag = local.get(remittance.tag)
                    if remittance_tag == "Ustrd":
                        free.append(remittance.text or "")
                    elif remittance_tag == "Strd":
                        for part in remittance:
                            part_tag = local.get(part.tag)
                            if part_tag == "CdtrRefInf":
                                for ref in part:
                                    if local.get(ref.tag) == "Ref":
                                        references.append((ref.text or "").strip())
                            elif part_tag == "AddtlRmtInf":
                                extra.append(part.text or "")
            elif tag == "RltdPties":
                for related in child:
                    related_tag = local.get(related.tag)
                    if related_tag == party:
                        name = _party_name(related, local)
                    elif related_tag == account:
                        iban = _text(_path(related, local, "Id", "IBAN")).replace(" ", "").upper()
                    elif related_tag == ultimate:
                        ultimate_name = _party_name(related, local)
            elif tag == "Refs":
                for ref in child:
                    ref_tag = local.get(ref.tag)
                    if ref_tag == "EndToEndId":
                        end_to_end = (ref.text or "").strip()
                    elif ref_tag == "AcctSvcrRef":
                        tx_reference = (ref.text or "").strip()
            elif tag == "Amt":
                amount_elem = child
            elif tag == "AmtDtls":
                amount_details = child
            elif tag == "CdtDbtInd":
                direction = (child.text or "").strip()
            elif tag == "AddtlTxInf":
                additional.append(child.text or "")
        if amount_elem is None and amount_details is not None:
            amount_elem = _path(amount_details, local, "TxAmt", "Amt")
    return {
        "counterparty_name": name or ultimate_name,
        "counterparty_iban": iban,
        "structured_reference": " ".join(dict.fromkeys(r for r in references if r)),
        "free_text": "\n".join(s for t in free + extra if (s := t.strip())),
        "end_to_end_id": "" if end_to_end.upper() == "NOTPROVIDED" else end_to_end,
        "transaction_reference": tx_reference,
        "additional": "\n".join(s for t in additional if (s := t.strip())),
        "amount": amount_elem,
        "direction": direction,
    }


def _path(elem: etree._Element | None, local: dict, *tags: str) -> etree._Element | None:
    for tag in tags:
        if elem is None:
            return None
        for child in elem:
            if local.get(child.tag) == tag:
                elem = child
                break
        else:
            return None
    return elem


def _party_name(party: etree._Element, local: dict) -> str:
    """Nm, or Pty/Nm: camt.053.001.08 may wrap the party in a Pty element."""
    for child in party:
        tag = local.get(child.tag)
        if tag == "Nm":
            return _text(child)
        if tag == "Pty":
            return _party_name(child, local)
    return ""


def _date_of(elem: etree._Element | None, local: dict, name: str, where: str) -> date | None:
    """A BookgDt/ValDt as a date; a date-time keeps the date it was written with."""
    if elem is None:
        return None
    text = ""
    for child in elem:
        if local.get(child.tag) in ("Dt", "DtTm"):
            text = _text(child)
            break
    if not text:
        return None
    try:
        return _iso_date(text[:10])
    except ValueError:
        raise StatementFormatError(
            name, f"the date {text!r} is not a date.", line=elem.sourceline, where=where
        ) from None


@functools.lru_cache(maxsize=1024)
def _iso_date(text: str) -> date:
    return date.fromisoformat(text)  # a statement's entries share a few dozen dates


def _entries(
    ntry: etree._Element, q: SimpleNamespace, tally: Tally, name: str, number: int
) -> list[StatementEntry]:
    line = ntry.sourceline
    where = f"entry {number}"
    local = q.local
    amount_elem = booking_elem = value_elem = None
    direction = reversal = status = account_ref = entry_ref = ""
    infos: list[str] = []
    transactions: list[etree._Element] = []
    for child in ntry:
        tag = local.get(child.tag)
        if tag == "Amt":
            amount_elem = child
        elif tag == "CdtDbtInd":
            direction = _text(child)
        elif tag == "RvslInd":
            reversal = _text(child)
        elif tag == "Sts":
            status = _text(child) or _text(_path(child, local, "Cd"))
        elif tag == "BookgDt":
            booking_elem = child
        elif tag == "ValDt":
            value_elem = child
        elif tag == "AcctSvcrRef":
            account_ref = _text(child)
        elif tag == "NtryRef":
            entry_ref = _text(child)
        elif tag == "AddtlNtryInf":
            infos.append(_text(child))
        elif tag == "NtryDtls":
            transactions.extend(tx for tx in child if tx.tag == q.TxDtls)
    if amount_elem is None:
        raise StatementFormatError(name, "the entry has no amount (Amt).", line=line, where=where)
    amount, currency = _amount(amount_elem, name, where)
    if direction not in ("CRDT", "DBIT"):
        raise StatementFormatError(
            name, f"CdtDbtInd is {direction!r}, not CRDT or DBIT.", line=line, where=where
        )
    is_credit = direction == "CRDT"
    value_date = _date_of(value_elem, local, name, where)
    booking_date = _date_of(booking_elem, local, name, where) or value_date
    if booking_date is None:
        raise StatementFormatError(name, "the entry has no booking date.", line=line, where=where)
    entry_info = "\n".join(t for t in infos if t)
    common = {
        "currency": currency,
        "is_credit": is_credit,
        "booking_date": booking_date,
        "value_date": value_date,
        "is_reversal": reversal.lower() in ("true", "1"),
        "status": status or "BOOK",
        "bank_reference": account_ref or entry_ref,
        "account_iban": tally.account_iban,
        "account_id": tally.account_id,
        "statement_id": tally.statement_id,
        "entry_number": number,
        "line": line,
    }

    if len(transactions) <= 1:
        fields = _transaction_fields(transactions[0] if transactions else None, q, is_credit)
        additional = fields.pop("additional")
        del fields["amount"], fields["direction"]
        fields["free_text"] = fields["free_text"] or additional or entry_info
        return [
            StatementEntry(
                amount=amount,
                details="\n".join(t for t in (additional, entry_info) if t),
                position=f"entry {number} (line {line})",
                **common,
                **fields,
            )
        ]

    parts = [_transaction_fields(tx, q, is_credit) for tx in transactions]
    amounts = [
        _amount(p["amount"], name, where) if p["amount"] is not None else None for p in parts
    ]
    splittable = (
        all(
            a is not None and a[1] == currency and p["direction"] in ("", direction)
            for a, p in zip(amounts, parts, strict=True)
        )
        and sum(a[0] for a in amounts if a is not None) == amount
    )
    if splittable:
        result = []
        for index, (tx, fields, tx_amount) in enumerate(
            zip(transactions, parts, amounts, strict=True)
        ):
            additional = fields.pop("additional")
            del fields["amount"], fields["direction"]
            # A batch's own text describes the batch, not this payment: never a fallback here.
            fields["free_text"] = fields["free_text"] or additional
            result.append(
                StatementEntry(
                    amount=tx_amount[0],  # type: ignore[index]
                    transaction_index=index,
                    details="\n".join(t for t in (additional, entry_info) if t),
                    position=f"entry {number}, transaction {index + 1} (line {tx.sourceline})",
                    **common,
                    **fields,
                )
            )
        return result

    tally.problems.append(
        f"Entry {number} (line {line}) batches {len(transactions)} transactions whose amounts "
        f"are missing or do not add up to its {amount} {currency}; it is kept as one entry."
    )

    def same(key: str) -> str:
        values = {p[key] for p in parts}
        return values.pop() if len(values) == 1 else ""

    references = dict.fromkeys(r for p in parts for r in p["structured_reference"].split())
    texts = dict.fromkeys(p["free_text"] or p["additional"] for p in parts)
    return [
        StatementEntry(
            amount=amount,
            counterparty_name=same("counterparty_name"),
            counterparty_iban=same("counterparty_iban"),
            structured_reference=" ".join(references),
            free_text="\n".join(t for t in texts if t) or entry_info,
            end_to_end_id=same("end_to_end_id"),
            details=entry_info,
            position=f"entry {number} (line {line})",
            **common,
        )
    ]
