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
import string
from dataclasses import dataclass
from itertools import accumulate

from stdnum.iso7064 import mod_97_10

from billtone.core.errors import ValidationFailed

PREFIX = "RF"
MAX_BODY = 21
DEFAULT_DIGITS = 12  # "RF18 5390 0754 7034": four groups of four

_COMPACT_RE = re.compile(r"RF[0-9]{2}[0-9A-Z]{1,21}")
_SEPARATORS = str.maketrans("", "", " \t\r\n\u00a0-")
# "RF" read as base 36 digits (R=27, F=15): the tail every checksum ends with.
_RF_DIGITS = "2715"


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


@dataclass(slots=True)
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


@dataclass(slots=True)
class ReferenceScan:
    found: tuple[FoundReference, ...]

    @property
    def valid(self) -> tuple[str, ...]:
        """Distinct valid references, preferred readings, in the order they appear."""
        found = self.found
        if len(found) < 2:  # nearly always one or none
            return (found[0].reference,) if found and found[0].valid else ()
        return tuple(dict.fromkeys(f.reference for f in found if f.valid))

    @property
    def invalid(self) -> tuple[str, ...]:
        """Distinct candidates whose check digits fail (never corrected)."""
        return tuple(dict.fromkeys(f.reference for f in self.found if not f.valid))

    @property
    def readings(self) -> tuple[str, ...]:
        """Every valid reading of every candidate, for a lookup."""
        found = self.found
        if len(found) < 2:  # one candidate's readings are all different lengths
            return found[0].readings if found else ()
        return tuple(dict.fromkeys(r for f in found for r in f.readings))


# Where a candidate starts: "RF" and two digits in any case, with nothing but spaces, tabs,
# line breaks and dashes between them (then "R" must not follow a letter).
_CANDIDATE_RE = re.compile(r"[Rr][ \t\r\n\u00a0-]*[Ff][ \t\r\n\u00a0-]*[0-9][ \t\r\n\u00a0-]*[0-9]")
_SOFT = " \t\r\n\u00a0-"
_GAPS_RE = re.compile(r"([^A-Za-z0-9]+)")
# MOD 97-10 reads a letter as two digits: A=10 ... Z=35.
_NUMERIC = str.maketrans({c: str(v) for v, c in enumerate(string.digits + string.ascii_uppercase)})


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
    first = _FIRST_RE.search(text)
    if first is None:
        return ReferenceScan(())
    start = first.start()
    if (
        first.lastindex == _DIGITS_GROUP  # the digit body read whole: see _FIRST_RE
        and (not start or not text[start - 1].isalpha())
        and _CANDIDATE_RE.search(text, first.end()) is None
    ):
        found = _digits_only(text, first)
        return ReferenceScan(() if found is None else (found,))
    return _references_find(text)


def _references_find(text: str) -> ReferenceScan:
    """references_find for any text: every candidate, each read from its own stretch."""
    starts = [
        m.start()
        for m in _CANDIDATE_RE.finditer(text)
        if not m.start() or not text[m.start() - 1].isalpha()
    ]
    if not starts:
        return ReferenceScan(())
    found = []
    last = len(starts) - 1
    for k, start in enumerate(starts):
        # A body never runs into the next candidate: each is read from its own stretch.
        stop, at_end = (starts[k + 1], False) if k < last else (len(text), True)
        candidate = _digit_groups(text, start, stop, at_end)
        if candidate is _ANY_SHAPE:
            candidate = _candidate(text, start, stop, at_end)
        if candidate is not None:
            found.append(candidate)
    return ReferenceScan(tuple(found))


# The first candidate in a text (texts without one are done after this search), and
# whether it has the shape nearly every payment has: its body digits only, whole or in
# groups, ending where its reach ends (no letter or digit glued on, no following word that
# holds a digit). Group _DIGITS_GROUP is that body; when the shape does not hold, the
# second alternative matches the same candidate and _references_find reads the text. The
# negative lookahead makes a match end exactly where _REACH_RE's reach would; the body
# class is _S with digits, ending in a digit.
_S = r"[ \t\r\n\u00a0-]"
_FIRST_RE = re.compile(
    rf"[Rr]{_S}*[Ff]{_S}*[0-9]{_S}*[0-9]((?:[0-9 \t\r\n\u00a0-]*[0-9])?)"
    rf"(?![A-Za-z0-9]|{_S}+[A-Za-z]*[0-9])"
    rf"|[Rr]{_S}*[Ff]{_S}*[0-9]{_S}*[0-9]()"
)
_DIGITS_GROUP = 1


def _digits_only(text: str, match: re.Match) -> FoundReference | None:
    """_digit_groups for a text's one candidate, matched by _FIRST_RE with a digit body."""
    stretch = match.group()
    start = match.start()
    if stretch.isalnum():  # typed whole: one word, one reading
        chars = stretch.upper()
        if len(chars) == 4:
            return None  # "RF12 thanks": no body, no candidate
        if len(chars) > 4 + MAX_BODY:
            return _candidate(text, start, len(text), True)
        valid = int(chars[4:] + _RF_DIGITS + chars[2:4]) % 97 == 1
        return FoundReference(chars, valid, (), start, match.end())
    words = stretch.replace("-", " ").split()  # the separators it holds are all whitespace
    chars = "".join(words).upper()
    size = len(chars)
    if size == 4:
        return None
    if size > 4 + MAX_BODY:
        return _candidate(text, start, len(text), True)
    tail = _RF_DIGITS + chars[2:4]  # "RF" and the check digits, as MOD 97-10 reads them
    readings = []  # every word end after the check digits whose checksum holds
    end = 0
    for word in words:
        end += len(word)
        if end > 4 and int(chars[4:end] + tail) % 97 == 1:
            readings.append(end)
    if not readings:
        return FoundReference(chars, False, (), start, match.end())
    best = readings.pop()  # the longest; the others are alternatives
    return FoundReference(
        chars[:best],
        True,
        tuple([chars[:end] for end in readings]) if readings else (),
        start,
        match.end() if best == size else start + _end_of(stretch, best),
    )


# How far a body reaches in the text itself: the rest of the word with the check digits,
# then words that hold a digit, across separators only. What the words are made of and
# how long they are decides whether _digit_groups can read the candidate.
_REACH_RE = re.compile(
    r"[Rr][ \t\r\n\u00a0-]*[Ff][ \t\r\n\u00a0-]*[0-9][ \t\r\n\u00a0-]*[0-9][A-Za-z0-9]*"
    r"(?:[ \t\r\n\u00a0-]+(?=[A-Za-z]*[0-9])[A-Za-z0-9]+)*"
)
_ANY_SHAPE = object()


def _digit_groups(text: str, start: int, stop: int, at_end: bool) -> object:
    """_candidate for a body of digits, typed whole or in groups, that reaches no further
    than a reference can be long: nearly every candidate. _ANY_SHAPE for the others.

    Such a body ends where its digit words end: before a word of letters, punctuation,
    the end of the text or the next candidate. Every word end in it is a possible end of
    a reading; the last one is not a word end only when the next candidate follows at once.
    """
    reach = _REACH_RE.match(text, start, stop)
    stretch = reach.group()  # type: ignore[union-attr]
    words = stretch.replace("-", " ").split()  # the separators it holds are all whitespace
    chars = "".join(words).upper()
    size = len(chars)
    if size == 4:
        return None  # "RF12 thanks": no body, no candidate
    if size > 4 + MAX_BODY or not chars[4:].isdigit():
        return _ANY_SHAPE
    tail = _RF_DIGITS + chars[2:4]  # "RF" and the check digits, as MOD 97-10 reads them
    readings = [end for end in accumulate(map(len, words)) if end > 4]
    readings = [end for end in readings if int(chars[4:end] + tail) % 97 == 1]
    if not readings:
        return FoundReference(chars, False, (), start, reach.end())  # type: ignore[union-attr]
    best = readings[-1]
    if best == size and reach.end() == stop and not at_end and len(readings) > 1:  # type: ignore[union-attr]
        best = readings[-2]  # the next candidate follows: a word end before it is preferred
    return FoundReference(
        chars[:best],
        True,
        tuple(chars[:end] for end in readings if end != best),
        start,
        reach.end() if best == size else start + _end_of(stretch, best),  # type: ignore[union-attr]
    )


def _end_of(stretch: str, count: int) -> int:
    """Where the first `count` letters and digits of `stretch` end in it."""
    seen = 0
    for index, char in enumerate(stretch):
        if char.isalnum():
            seen += 1
            if seen == count:
                return index + 1
    raise AssertionError(count)


def _candidate(text: str, start: int, stop: int, at_end: bool) -> FoundReference | None:
    """The candidate at text[start] ("RF" + two digits), read from text[start:stop].

    The stretch is read as its letters and digits (`chars`, upper-cased) in words. A word
    ends where a separator, punctuation or the end of the text follows (`at_end`), not
    where the next candidate follows at once; the end is hard where punctuation or the end
    of the text follows, which no reference crosses. Indices are into `chars`.
    """
    parts = _GAPS_RE.split(text[start:stop])  # word, gap, word, gap, ..., word or ""
    words = parts[::2]
    gaps = parts[1::2]
    if not words[-1]:
        words.pop()  # the stretch ends with a gap: every word has one after it
    sizes = list(accumulate(map(len, words)))
    size = sizes[-1]
    ends = [end - 1 for end, _ in zip(sizes, gaps, strict=False)]  # followed by a gap
    hard = next(
        (end - 1 for end, gap in zip(sizes, gaps, strict=False) if end > 3 and gap.strip(_SOFT)),
        size - 1 if at_end else size,
    )
    if at_end and len(ends) < len(sizes):
        ends.append(size - 1)
    chars = "".join(words).upper()

    limit = min(size, 4 + MAX_BODY, hard + 1)
    # The body: the rest of the first word, then whole words with a digit.
    bounds = [end + 1 for end in ends if end >= 3]  # just after each word end
    reach = min(limit, bounds[0]) if bounds else limit
    for bound in bounds[1:]:
        if reach >= limit:
            break
        word_end = min(limit, bound)
        if chars[reach:word_end].isalpha():  # letters only: no digit, not a group
            break
        reach = word_end
    else:
        if reach < limit and not chars[reach:limit].isalpha():
            reach = limit
    if reach == 4:
        return None  # "RF12 thanks": no body, no candidate

    # A reading may end at a word end, at the next candidate or where digits and letters
    # meet; only there is its checksum worth computing.
    stops = {end + 1 for end in ends if 4 <= end < reach}
    if size <= reach:
        stops.add(size)
    body = chars[4:reach]
    if not (body.isdigit() or body.isalpha()):
        stops.update(e for e in range(5, reach) if chars[e - 1].isdigit() != chars[e].isdigit())
    tail = _RF_DIGITS + chars[2:4]  # "RF" and the check digits, as MOD 97-10 reads them
    readings = [e for e in sorted(stops) if _checks(chars[4:e], tail)]
    if not readings:
        return FoundReference(chars[:reach], False, (), start, _position(parts, start, reach))
    soft = [e for e in readings if e - 1 in ends]
    best = soft[-1] if soft else readings[-1]  # a word end before the rest, the longest
    return FoundReference(
        chars[:best],
        True,
        tuple(chars[:e] for e in readings if e != best),
        start,
        _position(parts, start, best),
    )


def _checks(body: str, tail: str) -> bool:
    """ISO 7064 MOD 97-10 on a body followed by "RF" and the check digits (`tail`)."""
    if not body.isdigit():
        body = body.translate(_NUMERIC)
    return int(body + tail) % 97 == 1


def _position(parts: list[str], start: int, count: int) -> int:
    """Where the text stops holding the first `count` letters and digits of `parts`."""
    pos = start
    for index, part in enumerate(parts):
        if index % 2 == 0:
            if count <= len(part):
                return pos + count
            count -= len(part)
        pos += len(part)
    raise AssertionError(count)
