import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billtone.banktransfers.references import (
    reference_compact,
    reference_format,
    reference_from_body,
    reference_is_valid,
    reference_random,
    reference_validate,
    references_find,
)
from billtone.core.errors import ValidationFailed

bodies = st.integers(min_value=0, max_value=10**12 - 1)
separators = st.sampled_from(["", "", "", " ", "  ", "\n", "\r\n", "\t", "-"])
# Text around a reference: no digits (so no other candidate), ending and starting with a
# separator so the reference is a word of its own.
plain_text = st.text(alphabet=string.ascii_letters + " .,:;!?()\n", max_size=40)


# --- making, formatting, validating ----------------------------------------------------


def test_the_iso_example_reference_is_made_from_its_body():
    assert reference_from_body(539007547034) == "RF18539007547034"
    assert reference_format("RF18539007547034") == "RF18 5390 0754 7034"


def test_a_number_body_is_zero_padded_to_one_width():
    reference = reference_from_body(42)
    assert reference[4:] == "000000000042"
    assert reference_is_valid(reference)
    assert len(reference_from_body(42, width=16)) == 20


def test_a_bytes_body_reads_as_a_number():
    assert reference_from_body(b"\x01\x00") == reference_from_body(256)


def test_a_text_body_is_used_as_given():
    assert reference_from_body("abc123") == "RF" + reference_from_body("ABC123")[2:4] + "ABC123"
    assert reference_is_valid(reference_from_body("abc123"))


@pytest.mark.parametrize("body", [-1, 10**21, "", "A" * 22, "ab/cd", "äöü"])
def test_a_body_that_cannot_make_a_reference_is_refused(body):
    with pytest.raises(ValueError):
        reference_from_body(body)


def test_random_references_are_valid_numeric_and_different():
    references = {reference_random() for _ in range(200)}
    assert len(references) == 200
    for reference in references:
        assert reference_is_valid(reference)
        assert len(reference) == 16 and reference[4:].isdigit()


def test_compact_ignores_spaces_case_line_breaks_and_dashes():
    assert reference_compact(" rf18 5390-0754\n7034 ") == "RF18539007547034"
    assert reference_is_valid("rf18 5390 0754\n7034")


def test_validate_returns_the_compact_reference():
    assert reference_validate("rf18 5390 0754 7034") == "RF18539007547034"


def test_validate_says_when_the_check_digits_do_not_match():
    with pytest.raises(ValidationFailed) as caught:
        reference_validate("RF17 5390 0754 7034")
    assert "check digits" in caught.value.errors["reference"][0]


@pytest.mark.parametrize(
    "value", ["", "RF", "RF18", "FR18539007547034", "RF1X539007547034", "RF9LG7V", "RF18 5390!"]
)
def test_validate_refuses_what_is_not_a_creditor_reference(value):
    assert not reference_is_valid(value)
    with pytest.raises(ValidationFailed) as caught:
        reference_validate(value)
    assert caught.value.errors["reference"]


def test_a_body_longer_than_21_characters_is_not_a_reference():
    reference = reference_from_body("1" * 21)
    assert reference_is_valid(reference)
    assert not reference_is_valid(reference + "1")


@given(bodies)
def test_generated_references_always_validate_and_survive_formatting(body):
    reference = reference_from_body(body)
    assert reference_is_valid(reference)
    assert reference_validate(reference_format(reference)) == reference
    assert reference_compact(reference_format(reference).lower()) == reference


@given(bodies, st.data())
def test_any_single_digit_change_is_detected(body, data):
    reference = reference_from_body(body)
    position = data.draw(st.integers(min_value=2, max_value=len(reference) - 1))
    digit = data.draw(st.sampled_from(string.digits).filter(lambda d: d != reference[position]))
    assert not reference_is_valid(reference[:position] + digit + reference[position + 1 :])


@given(bodies, st.data())
def test_any_single_character_change_is_detected_or_not_one_of_ours(body, data):
    """A letter counts as two digits in MOD 97-10, so a letter typed for a digit can
    validate; our references have digit bodies, so it can never name one of them."""
    reference = reference_from_body(body)
    position = data.draw(st.integers(min_value=0, max_value=len(reference) - 1))
    alphabet = string.ascii_uppercase + string.digits
    char = data.draw(st.sampled_from(alphabet).filter(lambda c: c != reference[position]))
    changed = reference[:position] + char + reference[position + 1 :]
    assert not reference_is_valid(changed) or not changed[4:].isdigit()


@given(bodies, st.data())
def test_any_swap_of_two_adjacent_characters_is_detected(body, data):
    reference = reference_from_body(body)
    position = data.draw(st.integers(min_value=0, max_value=len(reference) - 2))
    a, b = reference[position], reference[position + 1]
    if a == b:
        return  # swapping equal characters changes nothing
    swapped = reference[:position] + b + a + reference[position + 2 :]
    assert not reference_is_valid(swapped)


# --- finding references in free text -----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "RF18539007547034",
        "payment for invoice rf18 5390 0754\n7034 thanks",
        "Rf18 5390 0754 7034",
        "r\nf18 5390 0754 7034",
        "top-up RF18-5390-0754-7034.",
        "(RF18539007547034)",
        "ACME-RF18539007547034/invoice 12",
        "RF18539007547034thanks",
        "invoice 2024-17 RF18 5390 0754 7034 EUR 120,00",
        "RF18 5390 0754 7034 RF18 5390 0754 7034",
    ],
)
def test_find_reads_the_reference_however_it_is_typed(text):
    scan = references_find(text)
    assert scan.valid == ("RF18539007547034",)
    assert scan.invalid == ()


def test_find_reports_a_wrong_check_digit_as_invalid_and_never_corrects_it():
    scan = references_find("Payment RF17 5390 0754 7034 thank you")
    assert scan.valid == ()
    assert scan.invalid == ("RF17539007547034",)
    assert scan.readings == ()


def test_find_reports_two_different_references():
    first, second = reference_from_body(111), reference_from_body(222)
    scan = references_find(f"two top-ups: {reference_format(first)} and {second.lower()}")
    assert scan.valid == (first, second)


def test_find_reports_valid_and_invalid_candidates_side_by_side():
    scan = references_find("RF18539007547034 and RF19 5390 0754 7034")
    assert scan.valid == ("RF18539007547034",)
    assert scan.invalid == ("RF19539007547034",)


@pytest.mark.parametrize(
    "text", ["", "no reference here", "SURF2024 holidays", "perf18 5390 0754 7034", "RF 18", "RF18"]
)
def test_find_ignores_what_is_not_a_reference(text):
    assert references_find(text).found == ()


def test_find_gives_where_the_reference_is_in_the_text():
    text = "for invoice rf18 5390 0754\n7034 thanks"
    (found,) = references_find(text).found
    assert text[found.start : found.end] == "rf18 5390 0754\n7034"


def test_a_following_word_of_letters_is_not_read_into_the_reference():
    # "INVOICE" could make a longer reading validate by chance; it is never taken.
    for body in range(300):
        reference = reference_from_body(body)
        scan = references_find(f"{reference_format(reference)} invoice 12")
        assert scan.valid == (reference,)


def spaced(draw, reference: str) -> str:
    """The reference with random case and random separators between its characters."""
    chars = [c.lower() if draw(st.booleans()) else c for c in reference]
    return "".join(c + draw(separators) for c in chars[:-1]) + chars[-1]


@given(bodies, plain_text, plain_text, st.data())
@settings(max_examples=300)
def test_find_reads_a_reference_anywhere_in_random_text(body, before, after, data):
    reference = reference_from_body(body)
    text = before + " " + spaced(data.draw, reference) + data.draw(st.sampled_from(" \n.,")) + after
    assert references_find(text).valid == (reference,)


@given(bodies, st.text(max_size=30), st.text(max_size=30), st.data())
@settings(max_examples=300)
def test_a_reference_in_any_text_is_among_the_readings(body, before, after, data):
    reference = reference_from_body(body)
    text = before + "\n" + spaced(data.draw, reference) + "\n" + after
    assert reference in references_find(text).readings


# --- the fast reading agrees with the plain one ------------------------------------------


def find_slowly(text: str) -> list[tuple]:
    """references_find as first written, a character at a time: the specification that the
    faster implementation must match exactly (reference, valid, alternatives, start, end)."""
    chars, origin, soft, hard = [], [], [], []
    for pos, ch in enumerate(text):
        if ch.isascii() and ch.isalnum():
            chars += ch.upper()
            origin.append(pos)
            soft.append(False)
            hard.append(False)
        elif chars:
            soft[-1] = True
            hard[-1] = hard[-1] or ch not in " \t\r\n\u00a0-"
    if chars:
        soft[-1] = hard[-1] = True
    n = len(chars)
    starts = [
        i
        for i in range(n - 3)
        if chars[i] == "R" and chars[i + 1] == "F" and (chars[i + 2] + chars[i + 3]).isdigit()
        if not (hard[i] or hard[i + 1] or hard[i + 2])
        if not (origin[i] > 0 and text[origin[i] - 1].isalpha())
    ]
    found = []
    for k, i in enumerate(starts):
        next_start = starts[k + 1] if k + 1 < len(starts) else n
        limit = min(n, i + 25, next_start)
        limit = next((j + 1 for j in range(i + 3, limit) if hard[j]), limit)
        end = i + 4
        while end < limit and not soft[end - 1]:
            end += 1
        while end < limit:
            word_end = end
            while word_end < limit - 1 and not soft[word_end]:
                word_end += 1
            if not any(c.isdigit() for c in chars[end : word_end + 1]):
                break
            end = word_end + 1
        if end == i + 4:
            continue
        check_digits = chars[i + 2] + chars[i + 3]
        ends = [
            e
            for e in range(i + 5, end + 1)
            if int("".join(str(int(c, 36)) for c in chars[i + 4 : e]) + "2715" + check_digits) % 97
            == 1
            if soft[e - 1]
            or e == next_start
            or (e < end and chars[e - 1].isdigit() != chars[e].isdigit())
        ]
        if ends:
            best = max(ends, key=lambda e: (soft[e - 1], e))
            others = tuple("".join(chars[i:e]) for e in ends if e != best)
            found.append(("".join(chars[i:best]), True, others, origin[i], origin[best - 1] + 1))
        else:
            found.append(("".join(chars[i:end]), False, (), origin[i], origin[end - 1] + 1))
    return found


pieces = st.one_of(
    bodies.map(reference_from_body),
    bodies.map(lambda b: reference_format(reference_from_body(b))),
    bodies.map(lambda b: reference_from_body(b).lower()),
    st.text(alphabet="0123456789ABCDEFZ", min_size=1, max_size=24).map(lambda b: "RF" + b),
    st.sampled_from(["RF", "rf", "R F", "r-f", "RF18", "rF1", "SURF", "12", "2024"]),
    st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=12),
    st.text(alphabet=" \t\r\n\u00a0-.,/:()é²_", min_size=1, max_size=3),
)


@given(st.lists(pieces, max_size=10).map("".join))
@settings(max_examples=1500)
def test_the_reading_is_the_plain_one(text):
    assert [
        (f.reference, f.valid, f.alternatives, f.start, f.end) for f in references_find(text).found
    ] == find_slowly(text)


@given(st.integers(min_value=0, max_value=99), bodies, st.data())
@settings(max_examples=1000)
def test_one_reference_among_digits_reads_as_the_plain_one(check, body, data):
    """The shape nearly every payment has, read by a shortcut (references._digits_only):
    one candidate, its body digits in groups or whole, check digits right or wrong, words
    with and without digits around it."""
    reference = f"RF{check:02d}{body}"
    before = data.draw(st.sampled_from(["", "Top-up ", "ACME-", "ref ", "2024 ", "SURF"]))
    after = data.draw(
        st.sampled_from(
            ["", " invoice 12", "/invoice 7", "\n17525 invoice", " 12 34", "thanks", " x1", "."]
        )
    )
    text = before + spaced(data.draw, reference) + after
    assert [
        (f.reference, f.valid, f.alternatives, f.start, f.end) for f in references_find(text).found
    ] == find_slowly(text)
