"""VIN errors speak the reader's language: Indonesian first, English second (issue 11 item 18)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from tests.orders.ui_data import shop_make
from vehicles.errors import InvalidVin
from vehicles.services import vin_decode


@pytest.mark.parametrize(("vin", "indonesian", "english"), [
    ("123", "VIN terdiri dari 17 karakter; yang ini 3.", "A VIN has 17 characters; this one has 3."),
    ("1HGCM8263QA00435Q", "ditemukan Q di posisi 10, Q di posisi 17.", "found Q at position 10, Q at position 17."),
    ("1HGCM82633A00435*", "VIN hanya berisi huruf A-Z (tanpa I, O, Q) dan angka; ditemukan '*' di posisi 17.",
     "found '*' at position 17."),
])
def test_the_reason_is_translated_when_it_is_read(vin, indonesian, english):
    with pytest.raises(InvalidVin) as error:
        vin_decode(vin=vin)
    with translation.override("id"):
        assert indonesian in str(error.value.message) and indonesian in str(error.value)
    with translation.override("en"):
        assert english in str(error.value.message)


@pytest.mark.django_db
def test_the_vin_page_says_why_in_indonesian(client):
    shop = shop_make()
    client.force_login(shop.buyer.user)
    html = client.get(reverse("workshops:vin_lookup"), {"vin": "1HGCM82633I004352"}).content.decode()
    assert "VIN ini tidak valid: VIN tidak pernah memuat huruf I, O, atau Q" in html
    assert "I di posisi 11" in html and "position" not in html
    client.cookies["django_language"] = "en"
    html = client.get(reverse("workshops:vin_lookup"), {"vin": "1HGCM82633I004352"}).content.decode()
    assert "I at position 11" in html
