"""A part's attributes read in the reader's language on its page (issue 11 item 18)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog.models import Part
from tests.orders.ui_data import shop_make

pytestmark = pytest.mark.django_db


def test_known_attribute_keys_and_values_are_translated_others_shown_as_written(client):
    shop = shop_make(extra_parts=0)
    Part.objects.filter(pk=shop.pad.pk).update(
        attributes={"vehicle_type": "car", "position": "front", "pad_thickness_mm": 11})
    client.force_login(shop.buyer.user)
    html = client.get(reverse("orders:part", args=[shop.pad.pk])).content.decode()
    assert "<dt>Jenis kendaraan</dt><dd>Mobil</dd>" in html
    assert "<dt>Posisi</dt><dd>Depan</dd>" in html
    assert "<dt>Pad thickness mm</dt><dd>11</dd>" in html  # a supplier's own key, as written
    assert "vehicle_type" not in html and ">car<" not in html
    client.cookies["django_language"] = "en"
    html = client.get(reverse("orders:part", args=[shop.pad.pk])).content.decode()
    assert "<dt>Vehicle type</dt><dd>Car</dd>" in html and "<dt>Position</dt><dd>Front</dd>" in html
