"""ISO 11649 creditor references ("RF" + 2 check digits + up to 21 alphanumerics).

Billtone issues references with a numeric body of fixed width. For digit-only bodies the
ISO 7064 MOD 97-10 check catches every single-digit error and every swap of two adjacent
characters, so a mistyped reference fails its check instead of naming someone else's
transfer. Letters are legal in ISO 11649 but weaken that guarantee (a letter counts as two
digits), and banking apps on phones type digits more reliably: hence digits.

Uniqueness is not this module's business: the caller stores the reference under a unique
constraint and either feeds a sequence number to `reference_from_body` or retries
`reference_random` on a conflict.

`references_find` reads references out of the free text customers type into their bank's
"remittance information" field: any case, spaces or line breaks anywhere, glued to other
words. It never corrects a reference: a candidate whose check digits fail is reported as
invalid, for a person to look at.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from stdnum.iso7064 import mod_97_10

from billtone.core.errors import ValidationFailed

PREFIX = "RF"
MAX_BODY = 21
DEFAULT_DIGITS = 12  # "RF18 5390 0754 7034": four groups of four

_COMPACT_RE = re.compile(r"RF[0-9]{2}[0-9A-Z]{1,21}")
_SEPARATORS = str.maketrans("", "", " \t\r\n\u00a0-")
# "RF" read as base 36 digits (R=27, F=15): the tail every checksum ends with.
_RF_VALUE = 2715


def reference_compact(value: str) -> str:
    """`value` without spaces, tabs, line breaks and dashes, in upper case."""
    return value.translate(_SEPARATORS).upper()


def reference_is_valid(value: str) -> bool:
    """Whether `value`, in any spacing or case, is an ISO 11649 reference whose check holds."""
    number = reference_compact(value)
    return bool(_COMPACT_RE.fullmatch(number)) and mod_97_10.is_valid(number[4:] + number[:4])


def reference_validate(value: str) -> str:
    """The compact reference; ValidationFailed (field "reference") when it is not one."""
    number = reference_compact(value)
    if not _COMPACT_RE.fullmatch(number):
        raise ValidationFailed(
            {"reference": ["A reference is RF, two check digits and 1 to 21 letters or digits."]}
        )
    if not mod_97_10.is_valid(number[4:] + number[:4]):
        raise ValidationFailed(
            {"reference": ["The check digits do not match: the reference is mistyped."]}
        )
    return number


def reference_format(value: str) -> str:
    """For display and print: groups of four, "RF18 5390 0754 7034"."""
    number = reference_compact(value)
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def reference_from_body(body: int | str | bytes, *, width: int = DEFAULT_DIGITS) -> str:
    """The compact reference for `body`, check digits computed.

    An int (or bytes, read as a big-endian unsigned int) becomes a decimal body zero-padded
    to `width` digits, so that references of one kind all have one length and none is a
    prefix of another. A str body is used as given (letters and digits, upper-cased).
    """
    if isinstance(body, bytes):
        body = int.from_bytes(body, "big")
    if isinstance(body, int):
        if body < 0:
            raise ValueError("A reference body is a non-negative number.")
        text = str(body).zfill(width)
    else:
        text = reference_compact(body)
    if not 1 <= len(text) <= MAX_BODY or not text.isascii() or not text.isalnum():
        raise ValueError(f"A reference body is 1 to {MAX_BODY} letters or digits, not {body!r}.")
    return PREFIX + mod_97_10.calc_check_digits(text + PREFIX) + text


def reference_random(*, digits: int = DEFAULT_DIGITS) -> str:
    """A new reference with a random `digits`-digit body (store it under a unique constraint)."""
    if not 1 <= digits <= MAX_BODY:
        raise ValueError(f"A reference body has 1 to {MAX_BODY} digits.")
    return reference_from_body(secrets.randbelow(10**digits), width=digits)


@dataclass(frozen=True, slots=True)
class FoundReference:
    """One place in a text that reads "RF" + two digits + a body.

    `reference` is the preferred reading; `alternatives` are other lengths of the same body
    whose check digits also hold (a body is 1 to 21 characters and the text after it may be
    more letters and digits, so about one reading in 97 validates by chance). A caller that
    looks references up should try every reading and act only when exactly one exists.
    """

    reference: str
    valid: bool
    alternatives: tuple[str, ...]
    start: int
    end: int

    @property
    def readings(self) -> tuple[str, ...]:
        return (self.reference, *self.alternatives) if self.valid else ()


@dataclass(frozen=True, slots=True)
class ReferenceScan:
    found: tuple[FoundReference, ...]

    @property
    def valid(self) -> tuple[str, ...]:
        """Distinct valid references, preferred readings, in the order they appear."""
        return tuple(dict.fromkeys(f.reference for f in self.found if f.valid))

    @property
    def invalid(self) -> tuple[str, ...]:
        """Distinct candidates whose check digits fail (never corrected)."""
        return tuple(dict.fromkeys(f.reference for f in self.found if not f.valid))

    @property
    def readings(self) -> tuple[str, ...]:
        """Every valid reading of every candidate, for a lookup."""
        return tuple(dict.fromkeys(r for f in self.found for r in f.readings))


_QUICK_RE = re.compile(r"r[\s-]*f", re.IGNORECASE)


def references_find(text: str) -> ReferenceScan:
    """Every creditor reference in `text`, valid or not, in order of appearance.

    Spaces, tabs, line breaks and dashes inside a reference are ignored, and so is case:
    "rf18 5390 0754\\n7034" reads RF18539007547034. A candidate starts at "RF" + two digits
    where "R" does not follow a letter ("SURF2024" is a word, not a reference). Its body
    runs over letters and digits, across ignored separators, up to 21 characters; other
    punctuation ends it, and so does the start of the next candidate.

    A body runs over the rest of the word that holds the check digits, then over following
    words that carry a digit ("invoice", "thanks" end it). A reading may end where a word
    ends or where digits turn to letters inside one ("7034thanks"); of those whose check
    digits hold, the preferred one ends a word and is the longest, the others are kept as
    alternatives. When none holds, the candidate is reported as invalid, as far as its body
    runs. About one reading in 97 validates by chance, so a mistyped reference typed in
    groups ("RF19 5390 0754 7034") reads as a shorter valid one ("RF195390") one time in
    fifty: a lookup finds no such reference and the payment still goes to review.
    """
    if not _QUICK_RE.search(text):
        return ReferenceScan(())
    chars, origin, soft_end, hard_end = _squeeze(text)
    n = len(chars)
    starts = [
        i
        for i in range(n - 3)
        if chars[i] == "R"
        and chars[i + 1] == "F"
        and chars[i + 2].isdigit()
        and chars[i + 3].isdigit()
        and not (hard_end[i] or hard_end[i + 1] or hard_end[i + 2])
        and not _follows_letter(text, origin[i])
    ]
    found: list[FoundReference] = []
    for k, i in enumerate(starts):
        next_start = starts[k + 1] if k + 1 < len(starts) else n
        limit = min(n, i + 4 + MAX_BODY, next_start)
        for j in range(i + 3, limit):
            if hard_end[j]:
                limit = j + 1
                break
        reach = _reach(chars, soft_end, i, limit)
        if reach == i + 4:
            continue  # "RF12 thanks": no body, no candidate
        ends = [
            e
            for e in _valid_ends(chars, i, reach)
            if soft_end[e - 1]
            or e == next_start
            or (e < reach and chars[e - 1].isdigit() != chars[e].isdigit())
        ]
        if ends:
            best = max(ends, key=lambda e: (soft_end[e - 1], e))
            found.append(
                FoundReference(
                    reference="".join(chars[i:best]),
                    valid=True,
                    alternatives=tuple("".join(chars[i:e]) for e in ends if e != best),
                    start=origin[i],
                    end=origin[best - 1] + 1,
                )
            )
        else:
            found.append(
                FoundReference(
                    reference="".join(chars[i:reach]),
                    valid=False,
                    alternatives=(),
                    start=origin[i],
                    end=origin[reach - 1] + 1,
                )
            )
    return ReferenceScan(tuple(found))


def _squeeze(text: str) -> tuple[list[str], list[int], list[bool], list[bool]]:
    """Letters and digits of `text` upper-cased, where each came from, and what follows it.

    soft_end[k]: a word ends after character k (separator, punctuation or end of text).
    hard_end[k]: punctuation or the end of text follows, which no reference crosses.
    """
    chars: list[str] = []
    origin: list[int] = []
    soft_end: list[bool] = []
    hard_end: list[bool] = []
    for pos, ch in enumerate(text):
        if ch.isascii() and ch.isalnum():
            chars.append(ch.upper())
            origin.append(pos)
            soft_end.append(False)
            hard_end.append(False)
        elif chars:
            soft_end[-1] = True
            if ch not in " \t\r\n\u00a0-":
                hard_end[-1] = True
    if chars:
        soft_end[-1] = hard_end[-1] = True
    return chars, origin, soft_end, hard_end


def _follows_letter(text: str, pos: int) -> bool:
    return pos > 0 and text[pos - 1].isalpha()


def _valid_ends(chars: list[str], start: int, limit: int) -> list[int]:
    """End offsets (exclusive) in `chars` of the readings from `start` whose checksum holds."""
    tail = _RF_VALUE * 100 + int(chars[start + 2] + chars[start + 3])
    prefix = 0
    ends = []
    for j in range(start + 4, limit):
        value = int(chars[j], 36)
        prefix = (prefix * (10 if value < 10 else 100) + value) % 97
        if (prefix * 1_000_000 + tail) % 97 == 1:
            ends.append(j + 1)
    return ends


def _reach(chars: list[str], soft_end: list[bool], start: int, limit: int) -> int:
    """How far a body can run: the rest of its first word, then whole words with a digit.

    A reference typed in groups is groups of digits (and letters); "invoice", "thanks" or
    "EUR" after it are words of the text, never part of the reference.
    """
    end = start + 4
    while end < limit and not soft_end[end - 1]:
        end += 1
    while end < limit:
        word_end = end
        while word_end < limit - 1 and not soft_end[word_end]:
            word_end += 1
        word_end += 1
        if not any(c.isdigit() for c in chars[end:word_end]):
            break
        end = word_end
    return end
