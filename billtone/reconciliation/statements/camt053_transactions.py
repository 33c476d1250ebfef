"""camt.053 transactions: what one TxDtls of an entry says (its payer or payee, references,
texts, amount), as a plain tuple; and the rows of an entry that batches several.
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from lxml import etree

from billtone.reconciliation.statements.entries import StatementEntry, Tally

# The fields of TransactionReader.read's tuple.
NAME, IBAN, REFERENCE, FREE_TEXT, END_TO_END, TX_REFERENCE, ADDITIONAL = range(7)
AMOUNT, DIRECTION = 7, 8
NO_TRANSACTION = ("", "", "", "", "", "", "", None, "")


class TransactionReader:
    """Reads a TxDtls (see camt053_entries.py on how elements are read, and why); holds the
    tags a file's transactions share."""

    def __init__(self, q: SimpleNamespace) -> None:
        self.codes: dict[str, str] = q.local
        self.transaction_tags = (q.RmtInf, q.RltdPties, q.Refs, q.Amt, q.AmtDtls, q.CdtDbtInd)
        self.transaction_tags += (q.AddtlTxInf, q.EndToEndId, q.AcctSvcrRef)
        self.remittance_tags = (q.Ustrd, q.Strd, q.CdtrRefInf, q.Ref, q.AddtlRmtInf)
        # The other party and its account: the payer of a credit, the payee of a debit.
        self.party_tags = {
            True: (q.Dbtr, q.DbtrAcct, q.UltmtDbtr, q.Nm, q.Pty, q.Id, q.IBAN),
            False: (q.Cdtr, q.CdtrAcct, q.UltmtCdtr, q.Nm, q.Pty, q.Id, q.IBAN),
        }

    # over 80 lines: one flat pass per TxDtls (no call per element) keeps ~40,000 entries/s
    def read(self, tx: etree._Element, is_credit: bool) -> tuple:
        """What a TxDtls says, as a tuple indexed by NAME, IBAN, ... (see NO_TRANSACTION).

        Written out flat: this runs for every transaction of a 100,000-entry file.
        """
        name = ultimate_name = iban = end_to_end = tx_reference = direction = ""
        references: list[str] = []
        free: list[str] = []
        extra: list[str] = []
        additional: list[str] = []
        amount_elem = amount_details = None
        t_rmt, t_pties, t_refs, t_amt, t_dtls, t_cdt, t_info, t_e2e, t_acct = self.transaction_tags
        for child in tx[:]:
            tag = child.tag
            if tag == t_rmt:
                t_ustrd, t_strd, t_ref_info, t_ref, t_rmt_info = self.remittance_tags
                for remittance in child[:]:
                    tag = remittance.tag
                    if tag == t_ustrd:
                        free.append(remittance.text or "")
                    elif tag == t_strd:
                        for part in remittance[:]:
                            tag = part.tag
                            if tag == t_ref_info:
                                for ref in part[:]:
                                    if ref.tag == t_ref:
                                        references.append((ref.text or "").strip())
                            elif tag == t_rmt_info:
                                extra.append(part.text or "")
            elif tag == t_pties:
                t_party, t_account, t_ultimate, t_nm, t_pty, t_id, t_iban = self.party_tags[
                    is_credit
                ]
                for related in child[:]:
                    tag = related.tag
                    if tag == t_party:
                        name = _party_name(related, t_nm, t_pty)
                    elif tag == t_account:  # Id/IBAN: the first Id, the first IBAN in it
                        iban = ""
                        for account_id in related[:]:
                            if account_id.tag == t_id:
                                for number in account_id[:]:
                                    if number.tag == t_iban:
                                        text = number.text
                                        iban = text.strip().replace(" ", "").upper() if text else ""
                                        break
                                break
                    elif tag == t_ultimate:
                        ultimate_name = _party_name(related, t_nm, t_pty)
            elif tag == t_refs:
                for ref in child[:]:
                    tag = ref.tag
                    if tag == t_e2e:
                        end_to_end = (ref.text or "").strip()
                    elif tag == t_acct:
                        tx_reference = (ref.text or "").strip()
            elif tag == t_amt:
                amount_elem = child
            elif tag == t_dtls:
                amount_details = child
            elif tag == t_cdt:
                direction = (child.text or "").strip()
            elif tag == t_info:
                additional.append(child.text or "")
        if amount_elem is None and amount_details is not None:
            amount_elem = _path(amount_details, self.codes, "TxAmt", "Amt")
        # One reference, one line of text: what nearly every transfer carries, kept
        # without a join.
        if len(references) > 1:
            reference = " ".join(dict.fromkeys(r for r in references if r))
        else:
            reference = references[0] if references else ""
        texts = free + extra if extra else free
        if len(texts) == 1:
            free_text = texts[0].strip()
        else:
            free_text = "\n".join(s for t in texts if (s := t.strip()))
        return (
            name or ultimate_name,
            iban,
            reference,
            free_text,
            "" if end_to_end.upper() == "NOTPROVIDED" else end_to_end,
            tx_reference,
            "\n".join(s for t in additional if (s := t.strip())) if additional else "",
            amount_elem,
            direction,
        )


def _path(elem: etree._Element | None, local: dict, *tags: str) -> etree._Element | None:
    for tag in tags:
        if elem is None:
            return None
        for child in elem[:]:
            if local.get(child.tag) == tag:
                elem = child
                break
        else:
            return None
    return elem


def _party_name(party: etree._Element, t_nm: str, t_pty: str) -> str:
    """Nm, or Pty/Nm: camt.053.001.08 may wrap the party in a Pty element."""
    for child in party[:]:
        tag = child.tag
        if tag == t_nm:
            text = child.text
            return text.strip() if text else ""
        if tag == t_pty:
            return _party_name(child, t_nm, t_pty)
    return ""


def batch_rows(
    tally: Tally,
    transactions: list[etree._Element],
    parts: list[tuple],
    amounts: list[tuple[Decimal, str] | None],
    amount: Decimal,
    entry_info: str,
    common: dict,
) -> list[StatementEntry]:
    """The rows of an entry batching transactions (`parts`: what each says; `amounts`: their
    amounts read): one per transaction when their amounts add up to the entry's, else the
    entry as one row and a problem noted."""
    currency = common["currency"]
    number = common["entry_number"]
    direction = "CRDT" if common["is_credit"] else "DBIT"
    splittable = (
        all(
            a is not None and a[1] == currency and p[DIRECTION] in ("", direction)
            for a, p in zip(amounts, parts, strict=True)
        )
        and sum(a[0] for a in amounts if a is not None) == amount
    )
    if not splittable:
        return _batch_as_one(tally, parts, amount, entry_info, common)
    result = []
    for index, (tx, part, tx_amount) in enumerate(zip(transactions, parts, amounts, strict=True)):
        additional = part[ADDITIONAL]
        result.append(
            StatementEntry(
                amount=tx_amount[0],  # type: ignore[index]
                counterparty_name=part[NAME],
                counterparty_iban=part[IBAN],
                structured_reference=part[REFERENCE],
                # A batch's own text describes the batch, not this payment: never a
                # fallback here.
                free_text=part[FREE_TEXT] or additional,
                end_to_end_id=part[END_TO_END],
                transaction_reference=part[TX_REFERENCE],
                transaction_index=index,
                details="\n".join(t for t in (additional, entry_info) if t),
                position=f"entry {number}, transaction {index + 1} (line {tx.sourceline})",
                **common,
            )
        )
    return result


def _batch_as_one(
    tally: Tally, parts: list[tuple], amount: Decimal, entry_info: str, common: dict
) -> list[StatementEntry]:
    """A batch whose amounts are missing or do not add up: one row, with what its
    transactions agree on, and a problem noted."""
    number, line = common["entry_number"], common["line"]
    tally.problems.append(
        f"Entry {number} (line {line}) batches {len(parts)} transactions whose amounts "
        f"are missing or do not add up to its {amount} {common['currency']}; it is kept as "
        "one entry."
    )

    def same(key: int) -> str:
        values = {p[key] for p in parts}
        return values.pop() if len(values) == 1 else ""

    references = dict.fromkeys(r for p in parts for r in p[REFERENCE].split())
    texts = dict.fromkeys(p[FREE_TEXT] or p[ADDITIONAL] for p in parts)
    return [
        StatementEntry(
            amount=amount,
            counterparty_name=same(NAME),
            counterparty_iban=same(IBAN),
            structured_reference=" ".join(references),
            free_text="\n".join(t for t in texts if t) or entry_info,
            end_to_end_id=same(END_TO_END),
            details=entry_info,
            position=f"entry {number} (line {line})",
            **common,
        )
    ]
