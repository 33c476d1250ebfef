"""The back office's rate decks: the upload names every bad line and writes nothing; a good
file becomes a deck whose rates are listed and searchable."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from billtone.rating.models import RateDeck

DECKS = Path(__file__).parent / "decks"


@pytest.fixture
def staff(db):
    user = get_user_model().objects.create_superuser("operator", "op@example.com", "pw-operator")
    client = Client()
    client.force_login(user)
    return client


def upload(staff, file_name: str, **fields):
    data = {
        "file": SimpleUploadedFile(file_name, (DECKS / file_name).read_bytes(), "text/csv"),
        "name": "Wholesale",
        "currency": "usd",
        "effective_from": "2027-01-01T00:00",
        **fields,
    }
    return staff.post(reverse("admin:rating_ratedeck_upload"), data)


def test_a_bad_deck_shows_every_line_error_and_changes_nothing(staff):
    response = upload(staff, "bad_lines.csv")

    assert response.status_code == 200
    page = response.content.decode()
    assert "8 bad lines" in page
    assert "Line 3: rate &#x27;abc&#x27; is not a number." in page
    assert "Line 11:" in page
    assert RateDeck.objects.count() == 0


def test_a_good_deck_is_imported_listed_and_its_rates_searched(staff):
    response = upload(
        staff, "eu_subunits.csv", sub_units="10000", effective_from="2026-01-01T00:00"
    )
    upload(staff, "eu_subunits.csv", sub_units="10000", name="Next year's")

    deck = RateDeck.objects.get(effective_from__year=2026)
    assert response.status_code == 302
    assert response.url == reverse("admin:rating_ratedeck_change", args=[deck.pk])
    listing = staff.get(reverse("admin:rating_ratedeck_changelist")).content.decode()
    assert "Wholesale" in listing and "in force" in listing and "future" in listing
    rates = staff.get(
        reverse("admin:rating_rate_changelist"), {"q": "+49 151", "deck__id__exact": deck.pk}
    ).content.decode()
    assert "Germany Mobile T-Mobile" in rates and "Austria" not in rates
    assert (
        staff.get(reverse("admin:rating_rate_change", args=[deck.rates.first().pk])).status_code
        == 200
    )


def test_the_same_moment_again_is_an_inline_error_on_the_date(staff):
    upload(staff, "eu_subunits.csv", sub_units="10000")
    response = upload(staff, "eu_subunits.csv", sub_units="10000")

    assert "already takes effect" in response.content.decode()
    assert RateDeck.objects.count() == 1
