"""E.164 reading and the inventory's pasted list: pure, no database."""

import pytest

from billtone.telephony.numbers import (
    NumberInvalid,
    e164_display,
    e164_normalise,
    inventory_parse,
)


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("+31201234567", "+31201234567"),
        ("+31 20 123 4567", "+31201234567"),
        (" +31 (0)20-123.4567 ", "+31201234567"),
        ("+1 212-555-0123", "+12125550123"),
    ],
)
def test_a_number_in_international_form_is_normalised_to_e164(text, e164):
    assert e164_normalise(text) == e164


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("020 123 4567", "does not start with +"),
        ("+31 hello", "is not a"),
        ("+44 7700 900123", "is not a valid telephone number"),  # Ofcom's drama range
        ("+3120", "is not a valid telephone number"),
    ],
)
def test_a_bad_number_is_refused_with_the_reason(text, why):
    with pytest.raises(NumberInvalid, match=why):
        e164_normalise(text)


def test_a_number_is_shown_grouped_as_people_read_it():
    assert e164_display("+31201234567") == "+31 20 123 4567"
    assert e164_display("not a number") == "not a number"


def test_a_clean_list_gives_every_number_with_its_line():
    parsed = inventory_parse(
        "+31 20 123 4567\n\n+31201234568\r\n", country="NL", number_type="geographic"
    )
    assert parsed.errors == ()
    assert parsed.lines == ((1, "+31201234567"), (3, "+31201234568"))
    assert parsed.numbers == ("+31201234567", "+31201234568")


def test_each_bad_line_is_named_by_its_number():
    text = "\n".join(
        [
            "+31201234567",  # 1 fine
            "0201234567",  # 2 national form
            "+4930123456",  # 3 German
            "+31612345678",  # 4 mobile
            "+31 20 123 4567",  # 5 twice
            "+31 800 1234567",  # 6 toll-free
        ]
    )
    parsed = inventory_parse(text, country="NL", number_type="geographic")
    assert [error.split(":")[0] for error in parsed.errors] == [
        "Line 2",
        "Line 3",
        "Line 4",
        "Line 5",
        "Line 6",
    ]
    assert "is a number of DE, not of NL" in parsed.errors[1]
    assert "is a mobile number, not a geographic number" in parsed.errors[2]
    assert "is on line 1 already" in parsed.errors[3]
    assert "toll-free number, not a geographic" in parsed.errors[4]


@pytest.mark.parametrize(
    ("number", "country", "number_type"),
    [
        ("+31612345678", "NL", "mobile"),
        ("+31 800 1234567", "NL", "toll_free"),
        ("+31 85 123 4567", "NL", "national"),
        ("+44 20 7123 4567", "GB", "geographic"),
        ("+44 303 123 4567", "GB", "national"),
        ("+1 212 555 0123", "US", "geographic"),
        ("+1 800 555 0123", "US", "toll_free"),
        ("+49 170 1234567", "DE", "mobile"),
    ],
)
def test_each_type_takes_its_numbers(number, country, number_type):
    assert inventory_parse(number, country=country, number_type=number_type).errors == ()


def test_an_empty_paste_is_an_error():
    assert inventory_parse(" \n\n", country="NL", number_type="mobile").errors == (
        "Paste at least one number, one per line.",
    )
