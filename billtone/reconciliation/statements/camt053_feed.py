"""The camt.053 file as a stream of lxml events, in bounded memory (decision 0010).

`Feed` feeds lxml's pull parser 64 KiB at a time (CHUNK_BYTES); after PRUNE_AFTER_BYTES
read without an entry or a statement ending it prunes what is not read, and refuses an
entry or a statement header of more than MAX_KEPT_ELEMENTS elements. `namespace_tags`
checks that the root is a camt.053 Document and names its tags; `drop` frees what has been
read.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from types import SimpleNamespace
from typing import BinaryIO

from lxml import etree

from billtone.reconciliation.statements.entries import StatementFormatError

# ISO's namespace, and the national variants that keep the schema under their own name
# (Austria's STUZZA: "ISO:camt.053.001.02:APC:STUZZA:payments:003").
NAMESPACE_RE = re.compile(
    r"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(\d{2})"
    r"|ISO:camt\.053\.001\.(\d{2})(?::APC:[A-Z]+:payments:\d{3})?"
)
# The elements read, each named in the document's namespace by namespace_tags.
_NAMES = [
    *("Document", "Stmt", "Ntry", "Id", "Acct", "IBAN", "Othr", "Ccy", "Bal", "Tp"),
    *("CdOrPrtry", "Cd", "Amt", "CdtDbtInd", "Dt", "DtTm", "TxsSummry", "TtlCdtNtries"),
    *("TtlDbtNtries", "NbOfNtries", "Sum", "RvslInd", "Sts", "BookgDt", "ValDt"),
    *("AcctSvcrRef", "NtryRef", "AddtlNtryInf", "NtryDtls", "TxDtls", "Refs", "EndToEndId"),
    *("AmtDtls", "TxAmt", "RltdPties", "Dbtr", "Cdtr", "UltmtDbtr", "UltmtCdtr", "DbtrAcct"),
    *("CdtrAcct", "Pty", "Nm", "RmtInf", "Ustrd", "Strd", "CdtrRefInf", "Ref", "AddtlRmtInf"),
    *("AddtlTxInf", "FrToDt", "ToDtTm", "CreDtTm"),
]

# The elements the parser reports (the others are read from them): a root of another name is
# an envelope.
_READ = ("Document", "Stmt", "Ntry")

# Bytes fed to the parser at a time.
CHUNK_BYTES = 1 << 16
# Bytes read without an entry or a statement ending before what is not kept is pruned.
PRUNE_AFTER_BYTES = 1 << 18
# What the reader may have to keep at once: one entry (a batch's transactions included) and a
# statement's header. libxml2 takes about 250 bytes an element with its text.
MAX_KEPT_ELEMENTS = 250_000


class Feed:
    """The (event, element) pairs of iterparse, from a parser fed here chunk by chunk, so that
    what builds up where no entry or statement ends (a group header, an envelope, anything
    outside the entries) is pruned as it streams, and an entry or header too large to keep
    is refused: any file is read in bounded memory."""

    def __init__(self, stream: BinaryIO, name: str) -> None:
        self.stream = stream
        self.name = name
        self.keep: set[str] = set()  # Stmt, Ntry and the header's tags, once known
        self.statement = ""
        self.root_tag = ""
        self.fed = self.released_at = 0
        self.root: etree._Element | None = None

    def released(self) -> None:
        self.released_at = self.fed

    def __iter__(self) -> Iterator[tuple[str, etree._Element]]:
        head = self.stream.read(CHUNK_BYTES)
        if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
            head = head[4:]  # libxml2 reads UTF-32 by its first "<", not by its BOM
        self.root_tag = _root_tag(head)
        tags = ["{*}Document", "{*}Stmt", "{*}Ntry"]
        envelope = ""  # a root of another name: its events only tell where the tree is
        if self.root_tag and etree.QName(self.root_tag).localname not in _READ:
            envelope = self.root_tag
            tags.append(envelope)
        parser = etree.XMLPullParser(
            events=("start", "end"),
            tag=tags,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            remove_comments=True,
            remove_pis=True,
            # The indentation between elements of a pretty-printed file, as real statements
            # are, is never read (every text read is stripped): not building those text
            # nodes saves about a tenth of the parsing.
            remove_blank_text=True,
        )
        events = parser.read_events()
        chunk = head
        while chunk:
            parser.feed(chunk)
            self.fed += len(chunk)
            for event, elem in events:
                if self.root is None:
                    self.root = elem.getroottree().getroot()
                if elem.tag != envelope:
                    yield event, elem
            if self.fed - self.released_at > PRUNE_AFTER_BYTES and self.root is not None:
                self._prune()
            chunk = self.stream.read(CHUNK_BYTES)
        parser.close()
        for event, elem in events:
            if elem.tag != envelope:
                yield event, elem

    def _prune(self) -> None:
        """Drop every complete element that is not kept, down the path of open elements; then
        count what stays."""
        self.released_at = self.fed
        elem = self.root
        assert elem is not None
        while True:
            tag = elem.tag
            if tag in self.keep and tag != self.statement:
                break  # an entry, or a part of a statement's header: kept whole
            try:
                last = elem[-1]
            except IndexError:
                break
            if tag == self.statement:  # its header stays until its first entry ends
                for child in [c for c in elem.iterchildren() if c.tag not in self.keep]:
                    if child is not last:
                        elem.remove(child)
            else:
                del elem[:-1]
            elem = last
        for kept, _ in enumerate(self.root.iter(), start=1):
            if kept > MAX_KEPT_ELEMENTS:
                raise StatementFormatError(
                    self.name,
                    f"more than {MAX_KEPT_ELEMENTS:,} XML elements in one entry or statement "
                    "header: far more than a statement holds; the file is not read further.",
                    line=elem.sourceline,
                )


def _root_tag(head: bytes) -> str:
    """The root element's tag, from the first bytes of the file ('' if they do not say)."""
    peek = etree.XMLPullParser(
        events=("start",), resolve_entities=False, no_network=True, load_dtd=False
    )
    try:
        peek.feed(head)
    except etree.XMLSyntaxError:
        return ""
    for _, elem in peek.read_events():
        return elem.tag if isinstance(elem.tag, str) else ""
    return ""


def namespace_tags(elem: etree._Element, name: str) -> SimpleNamespace:
    """The tag names in the document's namespace, once the root is known to be camt.053.

    The Document may also come inside an envelope (SWIFT's CBPR+: <Envelope> with an
    <AppHdr> and the <Document>): then it is the Document that is read."""
    root = elem.getroottree().getroot()
    if etree.QName(elem).localname == "Document" and root is not elem:
        root = elem
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


def drop(elem: etree._Element) -> None:
    """Free `elem` and every sibling before it: what iterparse has read and we are done with."""
    elem.clear(keep_tail=False)
    parent = elem.getparent()
    if parent is not None:
        del parent[: parent.index(elem)]
