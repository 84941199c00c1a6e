"""The part-number key in Python (services, imports) and in SQL (the supplier feed) is one rule."""

from __future__ import annotations

import pytest
from django.db import connection

from catalog.models import CrossReference, Part
from catalog.normalise import PART_NUMBER_KEY_SQL, PART_NUMBER_MAX_LENGTH, part_number_normalise

SPELLINGS = ["04465-0K240", "044650k240", " 04465 0k240 ", "ASN/1234.b", "k16r-u11", "--", "", "Ab_12\tz",
             "0446 5-0K.2/40", "é-12", "K16R–U11"]


@pytest.mark.django_db
def test_the_sql_key_is_the_python_key():
    with connection.cursor() as cursor:
        for number in SPELLINGS:
            cursor.execute(f"SELECT {PART_NUMBER_KEY_SQL.format('%(number)s')}", {"number": number})
            assert cursor.fetchone()[0] == part_number_normalise(number), number


def test_the_stored_columns_hold_the_longest_number_the_importers_accept():
    for model in (Part, CrossReference):
        for name in ("number", "number_key"):
            assert model._meta.get_field(name).max_length == PART_NUMBER_MAX_LENGTH
