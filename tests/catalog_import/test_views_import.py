"""The staff upload page: staff only, shows the report, messages for file-level errors."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.models import Part
from okto88.models import OutboxEvent
from tests.catalog_import.csv_files import GOOD_PARTS, catalog_state, parts_csv
from tests.platform.factories import OperatorFactory, UserFactory

URL = "/admin-tools/catalog/import/"


def upload(client, data: bytes, kind: str = "parts", **extra):
    return client.post(URL, {"kind": kind, "file": SimpleUploadedFile("parts.csv", data, "text/csv"), **extra})


def test_the_page_lives_outside_the_admin_site():
    assert reverse("catalog:import") == URL


def test_anonymous_and_non_staff_users_are_sent_away(client, catalog):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    client.force_login(UserFactory())
    assert client.get(URL).status_code == 302
    response = upload(client, GOOD_PARTS)
    assert response.status_code == 302
    assert Part.objects.count() == 0


def test_staff_see_the_form_with_the_expected_headers(client, catalog):
    client.force_login(OperatorFactory())
    response = client.get(URL)
    assert response.status_code == 200
    content = response.content.decode()
    assert 'enctype="multipart/form-data"' in content
    assert "brand,part_number,category,name_id,name_en,weight_g" in content


def test_a_good_upload_shows_the_counts(client, catalog):
    client.force_login(OperatorFactory())

    response = upload(client, GOOD_PARTS)

    assert response.status_code == 200
    content = response.content.decode()
    assert 'class="message message--success"' in content
    assert "3 created, 0 updated, 0 unchanged" in content
    assert Part.objects.count() == 3
    assert OutboxEvent.objects.filter(topic="part.created").count() == 3


def test_rejected_rows_are_shown_in_a_table_and_nothing_is_imported(client, catalog):
    client.force_login(OperatorFactory())
    before = catalog_state()

    response = upload(client, parts_csv(
        "Toyota,04465-0K240,kampas-rem,Kampas,Pad,850,,,,,,",
        "Bosch,0 986 494 123,kampas-rem,Kampas,Pad,850,,,,,,",
    ))

    assert response.status_code == 400
    content = response.content.decode()
    assert "1 of 2 rows were rejected; nothing was imported" in content
    assert '<table class="import-errors">' in content
    assert "<td>3</td><td>brand</td><td>Unknown brand “Bosch”.</td>" in content
    assert catalog_state() == before


def test_a_file_that_is_not_utf8_gives_a_message(client, catalog):
    client.force_login(OperatorFactory())
    response = upload(client, "brand,part_number\nToyota,é".encode("latin-1"))
    assert response.status_code == 400
    assert 'class="message message--error"' in response.content.decode()
    assert "not UTF-8" in response.content.decode()


def test_a_check_only_upload_writes_nothing(client, catalog):
    client.force_login(OperatorFactory())
    response = upload(client, GOOD_PARTS, dry_run="on")
    assert response.status_code == 200
    assert "All 3 rows are valid" in response.content.decode()
    assert Part.objects.count() == 0
