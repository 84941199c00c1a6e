"""Feed uploads are bounded before and while they are parsed (okto88/uploads.py)."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from django.core.files.base import ContentFile
from rest_framework.test import APIClient

from suppliers import feeds
from suppliers.errors import FeedUploadInvalid
from suppliers.models import FeedImport, FeedStatus, Offer
from tests.suppliers_feeds.conftest import HEADER, csv_upload, run_feed, xlsx_upload

pytestmark = pytest.mark.django_db
BOMB_BYTES = 300 * 1024 * 1024


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    """A real workbook whose shared-strings part unpacks to 300 MB of repeated text (a few
    hundred KB stored), written as a stream: the test never holds the 300 MB."""
    workbook = xlsx_upload([HEADER.split(","), ["BR-1", "Toyota", "04465-0K240", 385000, 2, 1, 1]]).read()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook)) as source, \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
        for member in source.infolist():
            data = source.read(member)
            # Referenced as the workbook's shared strings, as Excel writes them: openpyxl would load it.
            if member.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="'
                                    b'application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"'
                                    b"/></Types>")
            elif member.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdStrings" Type="http://schemas.'
                                    b'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
                                    b'Target="sharedStrings.xml"/></Relationships>')
            bomb.writestr(member, data)
        block = b"<si><t>okto88</t></si>" * (1 << 16)
        with bomb.open("xl/sharedStrings.xml", "w") as part:
            part.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            for _ in range(BOMB_BYTES // len(block)):
                part.write(block)
            part.write(b"</sst>")
    data = out.getvalue()
    assert len(data) < 2 * 1024 * 1024
    return data


def _upload(data: bytes, name: str = "feed.xlsx"):
    return csv_upload(data, name=name)


def test_a_zip_bomb_is_refused_at_upload_quickly_and_nothing_is_saved(world, zip_bomb):
    started = time.monotonic()
    with pytest.raises(FeedUploadInvalid) as refused:
        feeds.feed_import_create(supplier=world.supplier, file=_upload(zip_bomb))
    assert time.monotonic() - started < 2
    assert "unpacks" in refused.value.message and "xl/sharedStrings.xml" in refused.value.message
    assert not FeedImport.objects.exists()


def test_a_zip_bomb_already_stored_fails_its_import_with_the_reason(world, zip_bomb):
    # Stored before the check existed, or under a higher limit: the worker checks again.
    feed = FeedImport(supplier=world.supplier, original_name="feed.xlsx")
    feed.file.save("feed.xlsx", ContentFile(zip_bomb), save=True)
    started = time.monotonic()
    feed = feeds.feed_import_run(feed_import=feed)
    assert time.monotonic() - started < 2
    assert feed.status == FeedStatus.FAILED
    assert "xl/sharedStrings.xml" in feed.error and "zip bomb" in feed.error
    assert not Offer.objects.exists()


def test_a_workbook_over_the_uncompressed_limit_is_refused(world, settings):
    settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES = 4096
    upload = xlsx_upload([HEADER.split(",")] + [["BR-1", "Toyota", "04465-0K240", 385000, 2, 1, 1]] * 50)
    with pytest.raises(FeedUploadInvalid, match="MB"):
        feeds.feed_import_create(supplier=world.supplier, file=upload)


def test_a_zip_with_too_many_parts_is_refused(world, settings):
    settings.IMPORT_XLSX_MAX_MEMBERS = 20
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for n in range(21):
            archive.writestr(f"xl/part{n}.xml", b"<x/>")
    with pytest.raises(FeedUploadInvalid, match="too many parts"):
        feeds.feed_import_create(supplier=world.supplier, file=_upload(out.getvalue()))


def test_the_api_answers_a_zip_bomb_with_a_problem(world, zip_bomb):
    from tests.suppliers_feeds.test_api_feeds import FEEDS, api_for, assert_problem

    api: APIClient = api_for(world.supplier)
    body = assert_problem(api.post(FEEDS, {"file": _upload(zip_bomb)}, format="multipart"), 413,
                          "feed_upload_too_large")
    assert "xl/sharedStrings.xml" in body["detail"]
    assert not FeedImport.objects.exists()


def test_the_admin_form_shows_the_refusal(client, world, zip_bomb):
    client.force_login(world.member)
    response = client.post("/supplier-admin/suppliers/feedimport/add/", {"file": _upload(zip_bomb)})
    assert response.status_code == 200
    assert "xl/sharedStrings.xml" in response.content.decode()
    assert not FeedImport.objects.exists()


def test_too_many_csv_rows_fail_the_import_and_change_nothing(world, settings):
    settings.IMPORT_MAX_ROWS = 3
    rows = "".join(f"BR-{n},Toyota,04465-0K240,385000,2,1,1\n" for n in range(5))
    feed = run_feed(world.supplier, csv_upload(f"{HEADER}\n{rows}"))
    assert feed.status == FeedStatus.FAILED
    assert "more than 3 rows" in feed.error
    assert not Offer.objects.exists()


def test_too_many_xlsx_rows_fail_the_import(world, settings):
    settings.IMPORT_MAX_ROWS = 3
    rows = [[f"BR-{n}", "Toyota", "04465-0K240", 385000, 2, 1, 1] for n in range(5)]
    feed = run_feed(world.supplier, xlsx_upload([HEADER.split(","), *rows]))
    assert feed.status == FeedStatus.FAILED and "more than 3 rows" in feed.error
    assert not Offer.objects.exists()


def test_the_row_limit_itself_is_allowed(world, settings):
    settings.IMPORT_MAX_ROWS = 2
    feed = run_feed(world.supplier, csv_upload(
        f"{HEADER}\nBR-1,Toyota,04465-0K240,385000,2,1,1\nBR-2,Toyota,43512-0K090,385000,2,1,1\n"))
    assert feed.status == FeedStatus.SUCCEEDED, feed.error


@pytest.mark.parametrize("make", [csv_upload, None], ids=["csv", "xlsx"])
def test_too_many_columns_fail_the_import(world, settings, make):
    settings.IMPORT_MAX_COLUMNS = 6
    if make is None:
        upload = xlsx_upload([HEADER.split(","), ["BR-1", "Toyota", "04465-0K240", 385000, 2, 1, 1]])
    else:
        upload = make(f"{HEADER}\nBR-1,Toyota,04465-0K240,385000,2,1,1\n")
    feed = run_feed(world.supplier, upload)
    assert feed.status == FeedStatus.FAILED and "7 columns; at most 6" in feed.error


def test_an_overlong_csv_line_fails_the_import_with_its_line_number(world, settings):
    settings.IMPORT_MAX_LINE_BYTES = 1000
    feed = run_feed(world.supplier, csv_upload(
        f"{HEADER}\nBR-1,Toyota,04465-0K240,385000,2,1,1\nBR-2,Toyota,{'X' * 2000},1,1,1,1\n"))
    assert feed.status == FeedStatus.FAILED and "Line 3" in feed.error and "1000 bytes" in feed.error


def test_a_file_without_line_ends_is_refused_without_reading_it_whole(world, settings):
    settings.IMPORT_MAX_LINE_BYTES = 1000
    feed = run_feed(world.supplier, csv_upload(f"{HEADER}\n" + "X" * (3 * feeds.READ_BLOCK)))
    assert feed.status == FeedStatus.FAILED and "Line 2" in feed.error and "1000 bytes" in feed.error
